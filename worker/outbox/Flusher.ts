import { ProtocolError, ReadSyncError, TransientError, toErrorPayload, type ErrorPayload, type Limits } from '../../src/protocol';
import type { FlushOptions } from '../../src/bridge';
import type { OutboxRow } from '../db/ReadSyncDb';
import type { Transport } from '../transport/Transport';
import type { FlushScheduler, FlushStatus, FlusherDeps, KickChannel } from './FlusherContract';
import { createLeaderLock, type LeaderLock } from './LeaderLock';
import { OutboxStore } from './OutboxStore';
import { ackBatchId } from './ackBatchId';
import { backoffDelay } from './backoffDelay';
import { classifyFailure, isSplittable } from './classifyFailure';

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
  private readonly transport: Transport;
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
  private debounceTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private intervalTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: FlusherDeps) {
    this.store = new OutboxStore(deps.db);
    this.transport = deps.transport;
    this.opts = { ...FLUSH_DEFAULTS, ...stripUndefined(deps.options ?? {}) };
    this.now = deps.now ?? (() => Date.now());
    this.random = deps.random ?? Math.random;
    this.lock = deps.lock ?? createLeaderLock(deps.db, { now: this.now });
    this.status = { connection: 'online', leader: false, flushing: false, lastError: null, lastSyncAt: null };
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
    this.kick = this.openKick();
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
      void this.run(); // leftovers of a previous run or of a leader that died
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
    const running = this.loop().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  private async loop(): Promise<void> {
    this.patch({ flushing: true });
    let outcome: Outcome;
    do {
      this.followUp = false;
      outcome = await this.flushOnce();
    } while (outcome === 'done' && this.followUp && !this.stopped && this.lock.leader);
    this.patch({ flushing: false });
  }

  private async flushOnce(): Promise<Outcome> {
    this.errorInFlush = false;
    try {
      await this.drain('message');
      await this.drain('ack');
    } catch (err) {
      return this.onFailure(err);
    }
    this.attempt = 0;
    if (!this.errorInFlush) this.patch({ lastError: null });
    return 'done';
  }

  private onFailure(err: unknown): Outcome {
    if (err instanceof NotLeader) return 'halt';
    const error = toErrorPayload(err);
    const kind = classifyFailure(error);
    this.patch({ lastError: error, ...(error.code === 'network' ? { connection: 'offline' as const } : {}) });
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

  /** Sends every row of one kind, batch after batch, until none is left. */
  private async drain(kind: OutboxRow['kind']): Promise<void> {
    for (;;) {
      const limits = this.deps.limits();
      const rows =
        kind === 'message'
          ? await this.store.readBatch('message', limits.maxMessageBatch, limits.maxBodyBytes)
          : await this.store.readBatch('ack', this.ackBatchSize(limits));
      if (rows.length === 0) return;
      const answered = kind === 'message' ? await this.sendMessages(rows) : await this.sendAcks(rows);
      // A reply that answers none of the batch would otherwise loop here at full speed.
      if (answered === 0) throw new ProtocolError(`the server answered none of a batch of ${rows.length} ${kind}s`);
    }
  }

  private ackBatchSize(limits: Limits): number {
    return Math.max(1, Math.min(this.opts.ackBatchSize ?? limits.maxAckBatch, limits.maxAckBatch));
  }

  private async sendAcks(rows: OutboxRow[]): Promise<number> {
    const acks = rows.map((r) => ({ m: r.messageId, t: r.readAt ?? r.enqueuedAt }));
    const batchId = ackBatchId(this.deps.userId, acks);
    try {
      const res = await this.request(() => this.transport.ackBatch({ type: 'ack-batch', batchId, acks }));
      return await this.store.applyAckResults(rows, res.results);
    } catch (err) {
      return this.onPermanent(err, rows, (part) => this.sendAcks(part), (error) => this.store.rejectAcks(rows, error));
    }
  }

  private async sendMessages(rows: OutboxRow[]): Promise<number> {
    const broken = rows.filter((r) => !r.message);
    if (broken.length > 0) {
      return this.store.rejectMessages(broken, { name: 'ValidationError', code: 'invalid-argument', message: 'outbox row has no message to send' });
    }
    const messages = rows.map((r) => r.message!);
    try {
      const res = await this.request(() => this.transport.sendMessages({ type: 'send-messages', messages }));
      return await this.store.applyMessageResults(rows, res.results);
    } catch (err) {
      return this.onPermanent(err, rows, (part) => this.sendMessages(part), (error) => this.store.rejectMessages(rows, error));
    }
  }

  /**
   * A whole-request refusal that waiting will not fix. If it may be caused by
   * one bad item (validation, size), halve the batch until the culprit is
   * alone, so only it is rejected; otherwise reject the batch. Anything
   * retryable is rethrown for the backoff.
   */
  private async onPermanent(
    err: unknown,
    rows: OutboxRow[],
    resend: (part: OutboxRow[]) => Promise<number>,
    reject: (error: ErrorPayload) => Promise<number>,
  ): Promise<number> {
    if (err instanceof NotLeader) throw err;
    const error = toErrorPayload(err);
    if (classifyFailure(error) !== 'reject') throw err;
    if (rows.length > 1 && isSplittable(error)) {
      const mid = Math.ceil(rows.length / 2);
      return (await resend(rows.slice(0, mid))) + (await resend(rows.slice(mid)));
    }
    this.errorInFlush = true;
    this.patch({ lastError: error });
    return reject(error);
  }

  /** One request: only while leader, bounded in time; updates the connection state. */
  private async request<T>(call: () => Promise<T>): Promise<T> {
    if (this.stopped || !this.lock.leader) throw new NotLeader();
    if (this.status.connection === 'offline') this.patch({ connection: 'connecting' });
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransientError('network', `no answer within ${this.opts.requestTimeoutMs} ms`)), this.opts.requestTimeoutMs);
    });
    try {
      const result = await Promise.race([call(), timeout]);
      this.patch({ connection: 'online', lastSyncAt: this.now() });
      return result;
    } catch (err) {
      if (!(err instanceof ReadSyncError) || err.code !== 'network') {
        // The server answered (with an error): it is reachable.
        if (err instanceof ReadSyncError) this.patch({ connection: 'online' });
      }
      throw err;
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
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

  private openKick(): KickChannel | null {
    if (this.deps.kick !== undefined) {
      if (this.deps.kick) this.deps.kick.onmessage = () => this.onKick();
      return this.deps.kick;
    }
    const BC = (globalThis as { BroadcastChannel?: new (name: string) => KickChannel & { unref?: () => void } }).BroadcastChannel;
    if (!BC) return null;
    const channel = new BC(`readsync-kick:${this.deps.db.name}`);
    channel.unref?.(); // Node: never keep a process alive for this
    channel.onmessage = () => this.onKick();
    return channel;
  }

  /** Another tab enqueued something. Only the leader reacts (a non-leader must not pass it on: two would ping-pong). */
  private onKick(): void {
    if (!this.stopped && this.lock.leader) this.notifyEnqueued();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
