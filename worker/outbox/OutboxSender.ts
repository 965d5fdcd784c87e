import {
  FEATURE_DELIVERY,
  FEATURE_READ_POSITIONS,
  MAX_DELIVERIES_PER_BATCH,
  ProtocolError,
  ReadSyncError,
  toErrorPayload,
  type Ack,
  type AckBatchRequest,
  type DeliveryResult,
  type ErrorPayload,
  type Limits,
  type ReadPosition,
} from '../../src/protocol';
import type { AckOutboxRow, PositionOutboxRow, SendOutboxRow } from '../db/ReadSyncDb';
import { toDeliveryRange, type DeliveryItem } from '../store/deliveries';
import type { Transport } from '../transport/Transport';
import type { OutboxStore } from './OutboxStore';
import { ackBatchId } from './ackBatchId';
import { classifyFailure, isSplittable } from './classifyFailure';
import { rejection } from './outboxErrors';

/** Ack requests on the wire at once during a flush (each one batch). */
const ACKS_IN_FLIGHT = 3;
/** Batches per outbox read after the first. */
const ACK_READ_AHEAD = 4;
/** Message requests on the wire at once (only ever of different conversations). */
const MESSAGES_IN_FLIGHT = 3;
/** Message batches per outbox read after the first. */
const MESSAGE_READ_AHEAD = 20;
/** Message ids of acks sent lately that a worker remembers (see OutboxSender.ackedHere). */
const RECENT_ACKS = 20_000;
/** Read positions per ack batch (the reference server's cap; one per conversation, so rarely reached). */
export const MAX_POSITIONS_PER_BATCH = 100;

/** The wire form of a queued ack: `p: 1` when read while private. */
function toAck(r: AckOutboxRow): Ack {
  return r.private === 1 ? { m: r.messageId, t: r.readAt, p: 1 } : { m: r.messageId, t: r.readAt };
}

/** The wire form of a queued read position: `p: 1` when private. */
function toPosition(r: PositionOutboxRow): ReadPosition {
  return r.private === 1 ? { c: r.convId, s: r.seq, t: r.readAt, p: 1 } : { c: r.convId, s: r.seq, t: r.readAt };
}

/**
 * Delivery refusals that are expected and need no one's attention: the
 * conversation is gone or I left it while the range waited.
 */
const QUIET_DELIVERY_REFUSALS = new Set(['not-member', 'not-found']);

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
  /**
   * The server's announced features (its cached config), or null while
   * unknown: read positions go only to a server announcing `read-positions`.
   */
  features(): Promise<readonly string[] | null>;
  /** Message rows a position answer marked read (for the subscription hub). */
  onPositionsApplied?(rows: readonly unknown[]): void;
}

/**
 * One pass over the outbox: messages first (in enqueue order, so in order
 * per conversation), then acks, batch after batch until none is left, each
 * kind pipelined (several requests on the wire, see drainMessages). Each
 * answer is applied through the store in one transaction. A retryable failure
 * is thrown out to the flusher (which backs off); a permanent refusal rejects
 * its items and the pass goes on.
 */
export class OutboxSender {
  /** Ids of my messages on the wire or whose answer is being applied (see isSending). */
  private readonly sending = new Set<string>();

  constructor(private readonly deps: OutboxSenderDeps) {}

  /** Whether my message is on the wire, or its answer not applied yet. */
  isSending(messageId: string): boolean {
    return this.sending.has(messageId);
  }

  /**
   * Ids of messages whose ack this worker sent lately (at most RECENT_ACKS,
   * oldest forgotten first): the server tells every device of mine of my reads
   * (`my-reads`), this one included, and reading 500 stored rows per echoed
   * event to find them already read cost a 10,000-ack flush a quarter of its time.
   */
  private readonly recentAcks = new Set<string>();

  /** Whether this worker itself sent the ack of `messageId` lately (so a `my-reads` echo of it needs no look). */
  ackedHere(messageId: string): boolean {
    return this.recentAcks.has(messageId);
  }

  private rememberAcks(rows: readonly AckOutboxRow[]): void {
    for (const r of rows) {
      this.recentAcks.delete(r.messageId);
      this.recentAcks.add(r.messageId);
    }
    for (const id of this.recentAcks) {
      if (this.recentAcks.size <= RECENT_ACKS) break;
      this.recentAcks.delete(id);
    }
  }

  async sendAll(): Promise<void> {
    await this.drainMessages();
    // Before the acks: my other devices learn the mode as soon as possible (each ack carries its own flag).
    await this.sendSettings();
    await this.drainAcks();
  }

  /** Acks per request: the configured size, capped by the server's limit. */
  ackBatchSize(limits: Limits = this.deps.limits()): number {
    return Math.max(1, Math.min(this.deps.ackBatchSize ?? limits.maxAckBatch, limits.maxAckBatch));
  }

  /**
   * Messages go out in send order and pipelined like acks, with one rule acks
   * do not need: a request never starts while another request holding a
   * message of the same conversation is still unanswered, because the server
   * numbers a conversation's messages in the order its requests arrive. So
   * one conversation's batches go one after the other (the outbox read ahead
   * and each answer applied while the next batch travels), and batches of
   * different conversations overlap. Rows an answer left out are sent again
   * in another round.
   */
  private async drainMessages(): Promise<void> {
    while (await this.messageRound());
  }

  /** One round over the outbox's messages; true when some rows went unanswered (send them again). */
  private async messageRound(): Promise<boolean> {
    const outbox = this.deps.store.messages;
    const inFlight = new Map<Promise<unknown>, ReadonlySet<string>>();
    const applying: Promise<void>[] = [];
    let unanswered = false;
    let failure: { error: unknown } | null = null;
    const fail = (error: unknown) => {
      failure ??= { error };
    };
    // The first read is one batch, so the first request leaves at once; later ones read ahead.
    const read = (batches: number, after?: SendOutboxRow[]): Promise<SendOutboxRow[][]> => {
      const limits = this.deps.limits();
      const p = outbox.readBatches(batches, limits.maxMessageBatch, limits.maxBodyBytes, after?.[after.length - 1]?.enqueuedAt);
      p.catch(() => {}); // observed when its turn comes, or dropped after a failure
      return p;
    };
    const blocked = (convs: ReadonlySet<string>): boolean => {
      if (inFlight.size >= MESSAGES_IN_FLIGHT) return true;
      for (const busy of inFlight.values()) for (const c of convs) if (busy.has(c)) return true;
      return false;
    };
    try {
      let batches = await read(1);
      while (batches.length > 0 && failure === null) {
        const next = read(MESSAGE_READ_AHEAD, batches[batches.length - 1]);
        for (const rows of batches) {
          const convs = new Set(rows.map((r) => r.convId));
          while (failure === null && blocked(convs)) await Promise.race(inFlight.keys());
          if (failure !== null) break;
          for (const r of rows) this.sending.add(r.messageId);
          const release = () => {
            for (const r of rows) this.sending.delete(r.messageId);
          };
          const sent: Promise<unknown> = this.sendMessages(rows).then(({ applied }) => {
            const done = applied.then((n) => {
              noProgress(n, rows.length, 'messages');
              if (n < rows.length) unanswered = true;
            });
            void done.then(release, release);
            done.catch(() => {}); // observed below
            applying.push(done);
          }, (err: unknown) => {
            release();
            fail(err);
          });
          inFlight.set(sent, convs);
          void sent.finally(() => inFlight.delete(sent));
        }
        if (failure !== null) break;
        batches = await next;
      }
    } catch (err) {
      fail(err); // reading the outbox failed
    }
    await Promise.all(inFlight.keys());
    const settled = await Promise.allSettled(applying);
    const failedApply = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== null) throw (failure as { error: unknown }).error;
    if (failedApply) throw failedApply.reason;
    return unanswered;
  }

  /**
   * Acks are independent of each other (the server applies each once, in
   * any order), so the pass keeps the pipe full: up to ACKS_IN_FLIGHT
   * requests at a time, the outbox read ahead while they travel, and each
   * answer applied as it comes (the store groups answers that arrive during
   * one apply into the next transaction). The first read is one batch, so
   * the first request leaves at once; later reads take ACK_READ_AHEAD
   * batches each, so reads rarely queue behind the applies' transactions.
   * Reading continues until a read finds nothing, which also picks up acks
   * queued during the pass. After a failure no new request starts; the pass
   * waits for those already sent and for every apply, then rethrows the
   * first failure.
   */
  private async drainAcks(): Promise<void> {
    const { store } = this.deps;
    const inFlight = new Set<Promise<unknown>>();
    const applying: Promise<void>[] = [];
    let failure: { error: unknown } | null = null;
    const fail = (error: unknown) => {
      failure ??= { error };
    };
    const readAfter = (rows: AckOutboxRow[]): Promise<AckOutboxRow[]> => {
      const read = store.readAcks(this.ackBatchSize() * ACK_READ_AHEAD, rows[rows.length - 1]!.key);
      read.catch(() => {}); // observed when its turn comes, or dropped after a failure
      return read;
    };
    try {
      // Read positions ride in the first request of the pass (alone when no ack waits); delivery
      // ranges, a page per round of acks (alone once the acks are out), until none is left.
      const deliveryPages = this.deliveryPages();
      let [positions, deliveries] = await Promise.all([this.sendablePositions(), deliveryPages()]);
      // Private acks only go to a server that knows `p`: an older one would count them (the flag unknown to it).
      let privateOk: boolean | null = null;
      let chunk = await store.readAcks(this.ackBatchSize());
      while ((chunk.length > 0 || positions.length > 0 || deliveries.length > 0) && failure === null) {
        const next = chunk.length > 0 ? readAfter(chunk) : Promise.resolve([]);
        const size = this.ackBatchSize();
        if (privateOk === null && chunk.some((r) => r.private === 1)) privateOk = await this.supportsPrivateReads(chunk.filter((r) => r.private === 1).length);
        for (let i = 0; (i < chunk.length || positions.length > 0 || deliveries.length > 0) && failure === null; i += size) {
          const slice = chunk.slice(i, i + size);
          // Withheld rows get no answer, so they stay queued (OutboxStore.applyAcks keeps unanswered rows).
          const rows = privateOk === false ? slice.filter((r) => r.private !== 1) : slice;
          if (rows.length === 0 && positions.length === 0 && deliveries.length === 0) continue;
          const withPositions = positions;
          const withDeliveries = deliveries;
          positions = [];
          deliveries = [];
          const sent: Promise<unknown> = this.sendAcks(rows, withPositions, withDeliveries).then(({ applied }) => {
            const done = applied.then((n) => noProgress(n, rows.length + withPositions.length + withDeliveries.length, 'acks'));
            done.catch(() => {}); // observed below
            applying.push(done);
          }, fail);
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
          if (inFlight.size >= ACKS_IN_FLIGHT) await Promise.race(inFlight);
        }
        if (failure !== null) break;
        chunk = await next;
        deliveries = await deliveryPages();
      }
    } catch (err) {
      fail(err); // reading the outbox failed
    }
    await Promise.all(inFlight);
    const settled = await Promise.allSettled(applying);
    const failedApply = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== null) throw (failure as { error: unknown }).error;
    if (failedApply) throw failedApply.reason;
  }

  /**
   * The queued read positions this server takes: none while its features are
   * unknown; none, with a clear `unsupported-protocol` on `lastError`, when it
   * does not announce `read-positions` (they stay queued, never dropped).
   */
  private async sendablePositions(): Promise<PositionOutboxRow[]> {
    const rows = await this.deps.store.readPositions(MAX_POSITIONS_PER_BATCH);
    if (rows.length === 0) return rows;
    const ok = await this.supportsReadPositions(`read positions (markConversationRead): ${rows.length} conversation(s) stay queued`);
    return ok ? rows : [];
  }

  /**
   * The queued delivery ranges (issue 10.5) as pages of at most
   * MAX_DELIVERIES_PER_BATCH, read on in key order (rows stay in the outbox
   * while their batch travels); an empty page once none is left. None for a
   * server that does not announce `delivery` (it would not count them): they
   * stay queued, quietly, since nothing the user did waits on them.
   */
  private deliveryPages(): () => Promise<DeliveryItem[]> {
    let after: string | undefined;
    let done = false;
    let checked = false;
    return async () => {
      while (!done) {
        const { items, last } = await this.deps.store.readDeliveries(MAX_DELIVERIES_PER_BATCH, after);
        if (last === null) break;
        after = last;
        if (items.length === 0) continue; // damaged rows only: read on
        if (!checked) {
          checked = true;
          if (!(await this.deps.features())?.includes(FEATURE_DELIVERY)) break;
        }
        return items;
      }
      done = true;
      return [];
    };
  }

  /** Whether private acks may go out now (see supportsReadPositions); `count` of them are waiting. */
  private async supportsPrivateReads(count: number): Promise<boolean> {
    return this.supportsReadPositions(`private reads: ${count} read receipt(s) made while private stay queued`);
  }

  /**
   * Whether the server announces `read-positions` (positions, private reads,
   * settings): false while its features are unknown; false, with a clear
   * `unsupported-protocol` on `lastError` saying `what` waits, when it does
   * not announce it. What waits stays queued, never dropped.
   */
  private async supportsReadPositions(what: string): Promise<boolean> {
    const features = await this.deps.features();
    if (features === null) return false;
    if (features.includes(FEATURE_READ_POSITIONS)) return true;
    const err = new ReadSyncError('unsupported-protocol', `the server does not support ${what} until it announces "${FEATURE_READ_POSITIONS}"`);
    this.deps.onRejected(toErrorPayload(err));
    return false;
  }

  /**
   * My queued settings change (the receipt mode), once per pass, to a server
   * announcing `read-positions` (`POST /v1/settings`). Answered, the row
   * leaves and the server's settings become the local mode (unless the user
   * changed it again meanwhile); refused for good, it leaves with the reason
   * on lastError (the next pull brings the server's mode back); a retryable
   * failure goes to the flusher, which backs off.
   */
  private async sendSettings(): Promise<void> {
    const { store, transport } = this.deps;
    const row = await store.readSettings();
    if (!row || !(await this.supportsReadPositions('the receipt mode (setReceiptMode): the change stays queued'))) return;
    let res;
    try {
      res = await this.deps.request(() => transport.settings({ type: 'settings', receipts: row.receipts }));
    } catch (err) {
      const error = toErrorPayload(err);
      if (classifyFailure(error) !== 'reject') throw err;
      this.deps.onRejected(error);
      await store.applySettingsAnswer(row, undefined);
      return;
    }
    await store.applySettingsAnswer(row, res.settings);
  }

  /**
   * Sends one batch (acks, and read positions and delivery ranges when
   * given); resolves when the answer arrived, with the (still running) apply
   * of that answer.
   */
  private async sendAcks(rows: AckOutboxRow[], positionRows: PositionOutboxRow[] = [], deliveryItems: DeliveryItem[] = []): Promise<{ applied: Promise<number> }> {
    const { store, transport } = this.deps;
    const acks = rows.map(toAck);
    const positions = positionRows.map(toPosition);
    const deliveries = deliveryItems.map(toDeliveryRange);
    const batchId = ackBatchId(this.deps.userId, acks, positions, deliveries);
    // Before the request: the server's my-reads echo may come before its answer.
    this.rememberAcks(rows);
    let res;
    try {
      const req: AckBatchRequest = { type: 'ack-batch', batchId, acks };
      if (positions.length > 0) req.positions = positions;
      if (deliveries.length > 0) req.deliveries = deliveries;
      res = await this.deps.request(() => transport.ackBatch(req));
    } catch (err) {
      if (positionRows.length + deliveryItems.length > 0 && classifyFailure(toErrorPayload(err)) === 'reject') {
        // A refusal of the whole request: try the acks, the positions and the deliveries apart, so each is judged alone.
        const acksDone = rows.length > 0 ? (await this.sendAcks(rows)).applied : Promise.resolve(0);
        const positionsDone = this.sendPositionsAlone(positionRows, err);
        const deliveriesDone = this.sendDeliveriesAlone(deliveryItems, err);
        return { applied: Promise.all([acksDone, positionsDone, deliveriesDone]).then(([a, p, d]) => a + p + d) };
      }
      const resend = async (part: AckOutboxRow[]) => (await this.sendAcks(part)).applied;
      const n = await this.onRefused(err, rows, resend, (error) => store.rejectAcks(rows, error));
      return { applied: Promise.resolve(n) };
    }
    const acked = rows.length > 0 ? store.applyAckResults(rows, res.results) : Promise.resolve(0);
    const positioned = positionRows.length > 0 ? this.applyPositions(positionRows, res.positions) : Promise.resolve(0);
    const delivered = deliveryItems.length > 0 ? this.applyDeliveries(deliveryItems, res.deliveries) : Promise.resolve(0);
    return { applied: Promise.all([acked, positioned, delivered]).then(([a, p, d]) => a + p + d) };
  }

  /** Positions whose batch with acks was refused whole: sent on their own; refused again, they are dropped with the reason. */
  private async sendPositionsAlone(rows: PositionOutboxRow[], first: unknown): Promise<number> {
    if (rows.length === 0) return 0;
    const positions = rows.map(toPosition);
    const batchId = ackBatchId(this.deps.userId, [], positions);
    try {
      const res = await this.deps.request(() => this.deps.transport.ackBatch({ type: 'ack-batch', batchId, acks: [], positions }));
      return await this.applyPositions(rows, res.positions);
    } catch (err) {
      const error = toErrorPayload(err ?? first);
      if (classifyFailure(error) !== 'reject') throw err;
      this.deps.onRejected(error);
      const refused = rows.map((r) => r.convId);
      return (await this.deps.store.applyPositionResults(rows, refused.map((c) => ({ c, s: 'rejected' as const, r: 'invalid-argument' as const })))).answered;
    }
  }

  /** Delivery ranges whose batch was refused whole: sent on their own; refused again, they are dropped with the reason. */
  private async sendDeliveriesAlone(items: DeliveryItem[], first: unknown): Promise<number> {
    if (items.length === 0) return 0;
    const deliveries = items.map(toDeliveryRange);
    const batchId = ackBatchId(this.deps.userId, [], [], deliveries);
    try {
      const res = await this.deps.request(() => this.deps.transport.ackBatch({ type: 'ack-batch', batchId, acks: [], deliveries }));
      return await this.applyDeliveries(items, res.deliveries);
    } catch (err) {
      const error = toErrorPayload(err ?? first);
      if (classifyFailure(error) !== 'reject') throw err;
      this.deps.onRejected(error);
      const refused = items.map((i): DeliveryResult => ({ c: i.convId, s: 'rejected', r: 'invalid-argument' }));
      return (await this.deps.store.applyDeliveryResults(items, refused)).answered;
    }
  }

  /** Applies a batch's delivery answers; a refusal worth telling (not a conversation I left) becomes the last error. */
  private async applyDeliveries(items: DeliveryItem[], results: readonly DeliveryResult[] | undefined): Promise<number> {
    const { answered, refused } = await this.deps.store.applyDeliveryResults(items, results);
    const loud = refused.find((r) => !QUIET_DELIVERY_REFUSALS.has(r));
    if (loud !== undefined) this.deps.onRejected(rejection(loud, 'delivery'));
    return answered;
  }

  private async applyPositions(rows: PositionOutboxRow[], results: Parameters<OutboxStore['applyPositionResults']>[1]): Promise<number> {
    const { answered, refused, written } = await this.deps.store.applyPositionResults(rows, results);
    for (const error of refused) this.deps.onRejected(error);
    this.deps.onPositionsApplied?.(written);
    return answered;
  }

  /** Sends one batch; resolves when the answer arrived, with the (still running) apply of that answer. */
  private async sendMessages(batch: SendOutboxRow[]): Promise<{ applied: Promise<number> }> {
    const { transport } = this.deps;
    const outbox = this.deps.store.messages;
    let rows = batch;
    let broken = 0;
    if (rows.some((r) => !r.message)) {
      broken = await outbox.reject(
        rows.filter((r) => !r.message),
        { name: 'ValidationError', code: 'invalid-argument', message: 'outbox row has no message to send' },
      );
      rows = rows.filter((r) => r.message);
      if (rows.length === 0) return { applied: Promise.resolve(broken) };
    }
    const messages = rows.map((r) => r.message!);
    let res;
    try {
      res = await this.deps.request(() => transport.sendMessages({ type: 'send-messages', messages }));
    } catch (err) {
      const resend = async (part: SendOutboxRow[]) => (await this.sendMessages(part)).applied;
      const n = await this.onRefused(err, rows, resend, (error) => outbox.reject(rows, error));
      return { applied: Promise.resolve(n + broken) };
    }
    return { applied: outbox.applyResults(rows, res.results).then((n) => n + broken) };
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
