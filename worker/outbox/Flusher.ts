import { ReadSyncError, toErrorPayload, type ErrorPayload } from '../../src/protocol';
import type { FlushOptions } from '../../src/bridge';
import type { FlushScheduler, FlushStatus, FlusherDeps, KickChannel } from './FlusherContract';
import { createLeaderLock, type LeaderLock } from './LeaderLock';
import { OutboxSender } from './OutboxSender';
import { OutboxStore } from './OutboxStore';
import { backoffDelay } from './backoffDelay';
import { classifyFailure } from './classifyFailure';
import { openKickChannel } from './openKickChannel';
import { withTimeout } from './withTimeout';
import { loadConfig } from '../store/meta';

/** Defaults of FlushOptions. */
export const FLUSH_DEFAULTS: Required<Omit<FlushOptions, 'ackBatchSize'>> = {
  debounceMs: 50,
  intervalMs: 30_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  requestTimeoutMs: 30_000,
};

/** Thrown inside a flush when this worker stopped being the leader: end quietly. */
class NotLeader extends Error {}

type Outcome = 'done' | 'retry' | 'halt';

/**
 * Sends the durable outbox: messages first (enqueue order, so per
 * conversation in order), then acks, in bounded batches; applies each answer
 * in one transaction. One flush at a time; only while leader. See
 * FlusherContract.ts for the contract and docs/architecture.md for the why.
 */
export class Flusher implements FlushScheduler {
  private readonly store: OutboxStore;
  private readonly sender: OutboxSender;
  private readonly opts: typeof FLUSH_DEFAULTS & { ackBatchSize?: number };
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly lock: LeaderLock;
  private kick: KickChannel | null = null;
  private status: FlushStatus;
  private stopped = true;
  private browserOnline = true;
  private running: Promise<void> | null = null;
  private followUp = false;
  /** Consecutive retryable failures; 0 after a success. */
  private attempt = 0;
  /** No automatic flush before this time (Retry-After). */
  private notBefore = 0;
  private errorInFlush = false;
  private readonly payloads = new WeakMap<object, ErrorPayload>();
  /** Refused tokens already reported as they were answered. */
  private readonly reported = new WeakSet<ErrorPayload>();
  private debounceTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private intervalTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: FlusherDeps) {
    this.store = new OutboxStore(deps.db);
    this.opts = { ...FLUSH_DEFAULTS, ...stripUndefined(deps.options ?? {}) };
    this.sender = new OutboxSender({
      store: this.store,
      transport: deps.transport,
      userId: deps.userId,
      limits: () => deps.limits(),
      ackBatchSize: this.opts.ackBatchSize,
      request: (call) => this.request(call),
      onRejected: (error) => {
        this.errorInFlush = true;
        this.patch({ lastError: error });
      },
      // The cached server config (every worker on the database shares it): no need for this one to have fetched it.
      features: async () => {
        const config = await loadConfig(deps.db);
        return config === null ? null : (config.features ?? []);
      },
      onPositionsApplied: (rows) => deps.onStored?.('messages', rows),
    });
    this.now = deps.now ?? (() => Date.now());
    this.random = deps.random ?? Math.random;
    this.lock = deps.lock ?? createLeaderLock(deps.db, { now: this.now });
    this.status = { connection: 'online', leader: false, flushing: false, lastError: null, lastSyncAt: null };
  }

  isSending(messageId: string): boolean {
    return this.sender.isSending(messageId);
  }

  /** Whether this worker sent the ack of `messageId` lately (see OutboxSender.ackedHere). */
  ackedHere(messageId: string): boolean {
    return this.sender.ackedHere(messageId);
  }

  /** The current status (also pushed through `onStatus`). */
  getStatus(): FlushStatus {
    return { ...this.status };
  }

  /** Resolves once no flush is running (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick = openKickChannel(this.deps.db.name, this.deps.kick, () => this.onKick());
    await this.lock.start((leader) => this.onLeader(leader));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.debounceTimer, this.retryTimer, this.intervalTimer]) if (t !== null) clearTimeout(t);
    this.debounceTimer = this.retryTimer = this.intervalTimer = null;
    this.kick?.close();
    this.kick = null;
    await this.lock.stop();
    this.patch({ leader: false });
  }

  notifyEnqueued(): void {
    if (this.stopped) return;
    if (!this.lock.leader) {
      this.kick?.postMessage('enqueued');
      return;
    }
    this.armInterval();
    // A fixed window, not a sliding one: a steady stream of markRead calls still flushes every debounceMs.
    if (this.debounceTimer !== null) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      this.autoFlush();
    }, this.opts.debounceMs);
  }

  setOnline(online: boolean): void {
    const wasOnline = this.browserOnline;
    this.browserOnline = online;
    if (!online) {
      this.patch({ connection: 'offline' });
      return;
    }
    if (this.status.connection === 'offline') this.patch({ connection: 'connecting' });
    // A repeated 'online' while the server is failing must not defeat the backoff.
    if (!wasOnline || this.status.connection !== 'online') this.networkBack();
    else this.autoFlush();
  }

  setVisible(visible: boolean): void {
    if (visible) this.autoFlush();
  }

  noteConnection(reachable: boolean): void {
    if (!reachable) {
      this.patch({ connection: 'offline' });
      return;
    }
    const wasOffline = this.status.connection !== 'online';
    this.patch({ connection: 'online' });
    if (wasOffline) this.networkBack();
  }

  flush(): Promise<void> {
    return this.run();
  }

  // ---- scheduling ----------------------------------------------------------

  private onLeader(leader: boolean): void {
    this.patch({ leader });
    if (leader) {
      this.armInterval();
      // Leftovers of a previous run or of a leader that died; while the page says offline, the slow timer probes instead.
      this.autoFlush();
    }
  }

  /** The network came back: forget the backoff (not a server's Retry-After) and flush. */
  private networkBack(): void {
    this.attempt = 0;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const wait = this.notBefore - this.now();
    if (wait > 0) this.scheduleRetry(wait);
    else this.autoFlush();
  }

  /** A flush that respects the offline signal, a pending retry and Retry-After. */
  private autoFlush(): void {
    if (this.stopped || !this.lock.leader || !this.browserOnline) return;
    if (this.retryTimer !== null || this.now() < this.notBefore) return;
    void this.run();
  }

  private scheduleRetry(delayMs: number): void {
    if (this.stopped) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // While the browser says offline, only the slow timer probes; coming online flushes at once.
      if (this.lock.leader && this.browserOnline) void this.run();
    }, delayMs);
  }

  /** The slow timer: while anything is pending, try now and then (it also probes a lying offline signal). */
  private armInterval(): void {
    if (this.stopped || this.intervalTimer !== null) return;
    this.intervalTimer = setTimeout(() => {
      this.intervalTimer = null;
      void this.intervalTick();
    }, this.opts.intervalMs);
  }

  private async intervalTick(): Promise<void> {
    if (this.stopped || !this.lock.leader) return;
    let pending: boolean;
    try {
      pending = await this.store.hasPending();
    } catch {
      pending = true;
    }
    if (!pending) return; // re-armed by the next enqueue
    this.armInterval();
    if (this.retryTimer === null && this.now() >= this.notBefore) void this.run();
  }

  // ---- one flush -------------------------------------------------------------

  private run(): Promise<void> {
    if (this.stopped || !this.lock.leader) return Promise.resolve();
    if (this.running) {
      this.followUp = true;
      return this.running;
    }
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const running = this.loop().then((outcome) => {
      if (this.running === running) this.running = null;
      // Asked for again during a pass that halted (e.g. a new token arrived while the refused pass was
      // still waiting for its other requests): that request still counts.
      if (outcome === 'halt' && this.followUp) this.autoFlush();
    });
    this.running = running;
    return running;
  }

  private async loop(): Promise<Outcome> {
    this.patch({ flushing: true });
    let outcome: Outcome;
    do {
      this.followUp = false;
      outcome = await this.flushOnce();
    } while (outcome === 'done' && this.followUp && !this.stopped && this.lock.leader);
    this.patch({ flushing: false });
    return outcome;
  }

  private async flushOnce(): Promise<Outcome> {
    this.errorInFlush = false;
    try {
      await this.sender.sendAll();
    } catch (err) {
      return this.onFailure(err);
    }
    this.attempt = 0;
    if (!this.errorInFlush) this.patch({ lastError: null });
    return 'done';
  }

  private onFailure(err: unknown): Outcome {
    if (err instanceof NotLeader) return 'halt';
    const error = this.payloadOf(err);
    const kind = classifyFailure(error);
    // A refused token was reported when its answer came (see request); reporting it again now could
    // come after a new token and read as a refusal of that one.
    if (!this.reported.has(error)) this.patch({ lastError: error, ...(error.code === 'network' ? { connection: 'offline' as const } : {}) });
    if (kind === 'retry' && (error.code !== 'storage' || this.deps.db.isOpen())) {
      this.attempt++;
      const delay = backoffDelay(this.attempt, { baseMs: this.opts.backoffBaseMs, maxMs: this.opts.backoffMaxMs, random: this.random, retryAfterMs: error.retryAfterMs });
      if (error.retryAfterMs !== undefined) this.notBefore = this.now() + error.retryAfterMs;
      this.scheduleRetry(delay);
      return 'retry';
    }
    // Auth, protocol version, closed: waiting changes nothing by itself. The slow timer and the signals try again.
    return 'halt';
  }

  /** One request: only while leader, bounded in time; updates the connection state. */
  private async request<T>(call: () => Promise<T>): Promise<T> {
    if (this.stopped || !this.lock.leader) throw new NotLeader();
    if (this.status.connection === 'offline') this.patch({ connection: 'connecting' });
    try {
      const result = await withTimeout(call(), this.opts.requestTimeoutMs);
      this.patch({ connection: 'online', lastSyncAt: this.now() });
      return result;
    } catch (err) {
      // An error answer means the server is reachable.
      if (err instanceof ReadSyncError && err.code !== 'network') this.patch({ connection: 'online' });
      // A refused token is reported at once, not when the pass ends: by then the app may have handed
      // over a new token, and this refusal of the old one would read as a refusal of the new one.
      if (err instanceof ReadSyncError && (err.code === 'unauthenticated' || err.code === 'wrong-user')) {
        const payload = this.payloadOf(err);
        this.reported.add(payload);
        this.patch({ lastError: payload });
      }
      throw err;
    }
  }

  /** One payload per error, so the same failure reported twice is the same `lastError`. */
  private payloadOf(err: unknown): ErrorPayload {
    if (typeof err !== 'object' || err === null) return toErrorPayload(err);
    let p = this.payloads.get(err);
    if (!p) this.payloads.set(err, (p = toErrorPayload(err)));
    return p;
  }

  // ---- status and plumbing -----------------------------------------------------

  private patch(change: Partial<FlushStatus>): void {
    let changed = false;
    for (const [k, v] of Object.entries(change) as [keyof FlushStatus, unknown][]) {
      if (this.status[k] !== v) changed = true;
    }
    if (!changed) return;
    this.status = { ...this.status, ...change };
    this.deps.onStatus(this.getStatus());
  }

  /** Another tab enqueued something. Only the leader reacts (a non-leader must not pass it on: two would ping-pong). */
  private onKick(): void {
    if (!this.stopped && this.lock.leader) this.notifyEnqueued();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
