import type { ErrorPayload, Limits } from '../../src/protocol';
import type { FlushOptions } from '../../src/bridge';
import type { ReadSyncDb } from '../db/ReadSyncDb';
import type { Transport } from '../transport/Transport';
import type { LeaderLock } from './LeaderLock';

/**
 * The contract between the worker core (ReadSyncWorker, which writes outbox
 * rows inside its own transactions) and the flusher (which sends them).
 * The core never talks to the network for queued items; the flusher never
 * decides what gets queued.
 */
export interface FlusherDeps {
  db: ReadSyncDb;
  transport: Transport;
  userId: string;
  /** Current wire limits (from the server config cached in meta; defaults before the first contact). */
  limits(): Limits;
  options?: FlushOptions;
  /** Injectable clock and randomness, for fake timers and seeded tests. */
  now?: () => number;
  random?: () => number;
  /** Rows an answer just committed (read positions mark messages read), for the subscription hub. */
  onStored?(table: 'messages', rows: readonly unknown[]): void;
  /** Called whenever the flusher's status changes. */
  onStatus(status: FlushStatus): void;
  /** Leadership among workers on this database. Default: Web Locks, else a lease row in `meta` (see createLeaderLock). */
  lock?: LeaderLock;
  /**
   * How a non-leader tells the leader that it enqueued something (so the
   * leader flushes after its debounce instead of on its slow timer). Default:
   * a BroadcastChannel named `readsync-kick:<db name>` where available; null: none.
   */
  kick?: KickChannel | null;
}

/** The part of BroadcastChannel the flusher uses. */
export interface KickChannel {
  postMessage(message: unknown): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

/** The flusher's part of SyncStatus (counts come from the database). */
export interface FlushStatus {
  /** 'offline' after a network failure or an offline signal, until a request succeeds. */
  connection: 'online' | 'offline' | 'connecting';
  leader: boolean;
  flushing: boolean;
  lastError: ErrorPayload | null;
  lastSyncAt: number | null;
}

/** What the worker core calls on the flusher. */
export interface FlushScheduler {
  /** Takes the leader lock (Web Locks, or a fallback), flushes leftovers from a previous run, starts the slow timer. */
  start(): Promise<void>;
  /** Releases the lock and timers; an in-flight request's reply is still applied if it arrives before close. */
  stop(): Promise<void>;
  /** Something was enqueued: flush after the debounce. */
  notifyEnqueued(): void;
  /** Forwarded environment signals; coming online or visible triggers a flush. */
  setOnline(online: boolean): void;
  setVisible(visible: boolean): void;
  /** Flush now (if leader); resolves when that flush ends (successfully or not). */
  flush(): Promise<void>;
  /**
   * Optional: the outcome of another request to the backend (pull, event
   * stream). A success after a network failure means we are back online and
   * flushes at once; a network failure marks the connection offline.
   */
  noteConnection?(reachable: boolean): void;
  /**
   * Optional: whether this flusher has my message `messageId` on the wire or
   * its answer not yet applied. The server's echo of it (a `messages` event)
   * can then be skipped: the answer stores the same fields.
   */
  isSending?(messageId: string): boolean;
  /** Whether this worker sent the ack of `messageId` lately: a `my-reads` echo of it needs no look. */
  ackedHere?(messageId: string): boolean;
}
