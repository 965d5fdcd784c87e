import { ProtocolError, toErrorPayload, type ErrorPayload, type Limits } from '../../src/protocol';
import type { AckOutboxRow, SendOutboxRow } from '../db/ReadSyncDb';
import type { Transport } from '../transport/Transport';
import type { OutboxStore } from './OutboxStore';
import { ackBatchId } from './ackBatchId';
import { classifyFailure, isSplittable } from './classifyFailure';

/** A reply that answers none of its batch would otherwise make the pass loop at full speed. */
function noProgress(answered: number, sent: number, what: string): void {
  if (answered === 0) throw new ProtocolError(`the server answered none of a batch of ${sent} ${what}`);
}

export interface OutboxSenderDeps {
  store: OutboxStore;
  transport: Transport;
  userId: string;
  limits(): Limits;
  /** Max acks per request before the server's cap; undefined = the server's cap. */
  ackBatchSize: number | undefined;
  /** Runs one request (leadership check, timeout, connection state live in the flusher). */
  request<T>(call: () => Promise<T>): Promise<T>;
  /** An item (or a batch) was refused for good: surfaced as the last error. */
  onRejected(error: ErrorPayload): void;
}

/**
 * One pass over the outbox: messages first (in enqueue order, so in order
 * per conversation), then acks, batch after batch until none is left. Each
 * answer is applied through the store in one transaction. A retryable failure
 * is thrown out to the flusher (which backs off); a permanent refusal rejects
 * its items and the pass goes on.
 */
export class OutboxSender {
  constructor(private readonly deps: OutboxSenderDeps) {}

  async sendAll(): Promise<void> {
    await this.drainMessages();
    await this.drainAcks();
  }

  /** Acks per request: the configured size, capped by the server's limit. */
  ackBatchSize(limits: Limits = this.deps.limits()): number {
    return Math.max(1, Math.min(this.deps.ackBatchSize ?? limits.maxAckBatch, limits.maxAckBatch));
  }

  private async drainMessages(): Promise<void> {
    for (;;) {
      const limits = this.deps.limits();
      const rows = await this.deps.store.readMessages(limits.maxMessageBatch, limits.maxBodyBytes);
      if (rows.length === 0) return;
      noProgress(await this.sendMessages(rows), rows.length, 'messages');
    }
  }

  /**
   * Acks are independent of each other, so the local bookkeeping overlaps the
   * network: while batch k is on the wire, batch k+1 is read (one key-range
   * getAll) and batch k-1's answer is applied (one transaction). Requests
   * still go one at a time, and every apply is awaited before the pass ends.
   * Reading one batch ahead, not the whole queue, lets the first request
   * leave after a 500-row read instead of a 10,000-row one.
   */
  private async drainAcks(): Promise<void> {
    const { store } = this.deps;
    const applying: Promise<void>[] = [];
    let failure: unknown = null;
    let ahead: Promise<AckOutboxRow[]> | null = null;
    try {
      let size = this.ackBatchSize();
      ahead = store.readAcks(size);
      for (;;) {
        const rows: AckOutboxRow[] = await ahead;
        ahead = null;
        if (rows.length === 0) break;
        size = this.ackBatchSize();
        ahead = store.readAcks(size, rows[rows.length - 1]!.key);
        ahead.catch(() => {}); // observed on the next turn, or dropped with a failure
        const { applied } = await this.sendAcks(rows);
        const done = applied.then((n) => noProgress(n, rows.length, 'acks'));
        done.catch(() => {}); // observed below; not an unhandled rejection meanwhile
        applying.push(done);
      }
    } catch (err) {
      failure = err;
    }
    const settled = await Promise.allSettled(applying);
    const failedApply = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== null) throw failure;
    if (failedApply) throw failedApply.reason;
  }

  /** Sends one batch; resolves when the answer arrived, with the (still running) apply of that answer. */
  private async sendAcks(rows: AckOutboxRow[]): Promise<{ applied: Promise<number> }> {
    const { store, transport } = this.deps;
    const acks = rows.map((r) => ({ m: r.messageId, t: r.readAt }));
    const batchId = ackBatchId(this.deps.userId, acks);
    let results;
    try {
      results = (await this.deps.request(() => transport.ackBatch({ type: 'ack-batch', batchId, acks }))).results;
    } catch (err) {
      const resend = async (part: AckOutboxRow[]) => (await this.sendAcks(part)).applied;
      const n = await this.onRefused(err, rows, resend, (error) => store.rejectAcks(rows, error));
      return { applied: Promise.resolve(n) };
    }
    return { applied: store.applyAckResults(rows, results) };
  }

  private async sendMessages(rows: SendOutboxRow[]): Promise<number> {
    const { store, transport } = this.deps;
    const broken = rows.filter((r) => !r.message);
    if (broken.length > 0) {
      return store.rejectMessages(broken, { name: 'ValidationError', code: 'invalid-argument', message: 'outbox row has no message to send' });
    }
    const messages = rows.map((r) => r.message!);
    try {
      const res = await this.deps.request(() => transport.sendMessages({ type: 'send-messages', messages }));
      return await store.applyMessageResults(rows, res.results);
    } catch (err) {
      return this.onRefused(err, rows, (part) => this.sendMessages(part), (error) => store.rejectMessages(rows, error));
    }
  }

  /**
   * A whole-request refusal that waiting will not fix. If one bad item may
   * cause it (validation, size), halve the batch until the culprit is alone,
   * so only it is rejected; otherwise reject the batch. Anything else is
   * rethrown for the flusher.
   */
  private async onRefused<R>(
    err: unknown,
    rows: R[],
    resend: (part: R[]) => Promise<number>,
    reject: (error: ErrorPayload) => Promise<number>,
  ): Promise<number> {
    const error = toErrorPayload(err);
    if (classifyFailure(error) !== 'reject') throw err;
    if (rows.length > 1 && isSplittable(error)) {
      const mid = Math.ceil(rows.length / 2);
      return (await resend(rows.slice(0, mid))) + (await resend(rows.slice(mid)));
    }
    this.deps.onRejected(error);
    return reject(error);
  }
}
