/**
 * What the peers workload needs from each store it compares (readsync and
 * the libraries an app would pick instead): rows keyed by message id, one
 * subscriber per message, and a way to change rows' read counts.
 */

/** The row every peer stores per message: what a read-receipt UI shows. */
export interface PeerRow {
  id: string;
  convId: string;
  readCount: number;
  unreadCount: number;
  timestamp: number;
}

export interface PeerSession {
  /** Matched (substring) against IndexedDB database names to see this peer's commits; null when it has no IndexedDB. */
  dbMatch: string | null;
  /** Untimed setup figure, e.g. loading the stored rows into memory (ms), when the peer has one. */
  loadMs?: number;
  /**
   * Timed: one subscriber per row; each calls `onValue(row index, readCount)`
   * whenever its row's value arrives. Stops creating subscribers once
   * `deadline` (performance.now()) has passed; returns how many it created.
   */
  subscribe(onValue: (i: number, readCount: number) => void, deadline: number): number;
  /**
   * Untimed: gets ready to set `readCount` on the rows at `indices`; returns
   * the timed part, which starts the change (its promise is not awaited:
   * the workload waits for the subscribers, not for the write).
   */
  prepare(indices: number[], readCount: number): Promise<() => unknown>;
  /** Untimed: waits until the peer's background work has settled (beyond its IndexedDB commits). */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

export interface Peer {
  key: string;
  name: string;
  /** Stores `rows` (untimed) and returns a session over them. */
  open(tag: string, rows: PeerRow[]): Promise<PeerSession>;
}

/** The rows of run `tag`: n messages, nobody has read them yet. */
export function peerRows(tag: string, n: number): PeerRow[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${tag}_${String(i).padStart(6, '0')}`, convId: 'g-peers', readCount: 0, unreadCount: 5, timestamp: 1_700_000_000_000 + i }));
}

/** The same rows with another read count (what an update sets). */
export function withReadCount(rows: PeerRow[], indices: number[], readCount: number): PeerRow[] {
  const now = Date.now();
  return indices.map((i) => ({ ...(rows[i] as PeerRow), readCount, unreadCount: Math.max(0, 5 - readCount), timestamp: now }));
}

/** Calls `fn` for each row in order until `deadline` (performance.now()) has passed; returns how many it called. */
export function eachUntil<T>(items: readonly T[], deadline: number, fn: (item: T, i: number) => void): number {
  for (let i = 0; i < items.length; i++) {
    if ((i & 63) === 0 && performance.now() > deadline) return i;
    fn(items[i] as T, i);
  }
  return items.length;
}
