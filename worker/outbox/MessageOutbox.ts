import Dexie from 'dexie';
import type { ErrorPayload, MessageReceipt, SendResult } from '../../src/protocol';
import { PENDING_POS_BASE, type MessageRow, type ReadSyncDb, type SendOutboxRow } from '../db/ReadSyncDb';
import { guardStorage, rejection } from './outboxErrors';
import { sendKey } from '../store/enqueueMessage';
import { PRECISE_CHUNK } from '../store/storageErrors';

const encoder = new TextEncoder();

/** Room kept in a request body for the envelope around the items. */
const BODY_OVERHEAD = 256;

type Outcome = (SendResult & { error?: ErrorPayload }) | undefined;

interface Answer {
  rows: SendOutboxRow[];
  outcome(row: SendOutboxRow): Outcome;
  resolve(n: number): void;
  reject(err: unknown): void;
}

/**
 * The flusher's side of the database for messages I send: reads the queued
 * messages in send order, cut into request-sized batches, and applies the
 * server's answers. Answers that arrive while one is being applied are
 * applied together in the next transaction (group commit): with a request
 * answered every ~50 ms and a strict commit costing more than that, a bulk
 * send would otherwise queue its applies behind each other. Each answer still
 * lands in exactly one transaction, all or nothing.
 */
export class MessageOutbox {
  private readonly queue: Answer[] = [];
  private applying = false;

  constructor(private readonly db: ReadSyncDb) {}

  /**
   * Up to `batches` request-sized batches of the oldest queued messages, in
   * send order, each at most `maxCount` messages and `maxBytes` of JSON (at
   * least one message); after send order `after` when given (reading ahead
   * while earlier messages are still in the outbox). One read for all.
   */
  async readBatches(batches: number, maxCount: number, maxBytes = Infinity, after?: number): Promise<SendOutboxRow[][]> {
    const from = after === undefined ? Dexie.minKey : after;
    const rows = (await guardStorage('read the outbox', () =>
      this.db.outbox
        .where('[kind+enqueuedAt]')
        .between(['message', from], ['message', Dexie.maxKey], after === undefined, true)
        .limit(batches * maxCount)
        .toArray(),
    )) as SendOutboxRow[];
    const out: SendOutboxRow[][] = [];
    let batch: SendOutboxRow[] = [];
    let bytes = BODY_OVERHEAD;
    for (const row of rows) {
      const size = maxBytes === Infinity ? 0 : encoder.encode(JSON.stringify(row.message ?? null)).length + 1;
      if (batch.length > 0 && (batch.length >= maxCount || bytes + size > maxBytes)) {
        out.push(batch);
        if (out.length === batches) return out;
        batch = [];
        bytes = BODY_OVERHEAD;
      }
      batch.push(row);
      bytes += size;
    }
    if (batch.length > 0) out.push(batch);
    return out;
  }

  /**
   * Applies a send batch's results: a confirmed message gets its server
   * fields (type, seq, sentAt, audience) and, if it asked for receipts, its
   * receipt row; a refused one becomes 'failed' with the reason. Either way
   * it leaves the outbox, so one bad message never blocks the ones after it.
   * Rows without a result stay. Returns how many rows the results answered.
   */
  applyResults(rows: SendOutboxRow[], results: readonly SendResult[]): Promise<number> {
    const byId = new Map(results.map((r) => [r.id, r]));
    return this.enqueue(rows, (row) => byId.get(row.messageId));
  }

  /** Marks every message of a batch failed with one whole-request error. */
  reject(rows: SendOutboxRow[], error: ErrorPayload): Promise<number> {
    return this.enqueue(rows, (row) => ({ id: row.messageId, status: 'rejected' as const, error }));
  }

  private enqueue(rows: SendOutboxRow[], outcome: (row: SendOutboxRow) => Outcome): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ rows, outcome, resolve, reject });
      if (!this.applying) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.applying = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0);
        try {
          const counts = await this.applyGroup(group);
          group.forEach((g, i) => g.resolve(counts[i] as number));
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.applying = false;
    }
  }

  /** One transaction for a group of answers, applied in arrival order; returns each answer's count. */
  private applyGroup(group: Answer[]): Promise<number[]> {
    const db = this.db;
    const rows = group.flatMap((g) => g.rows);
    const outcomes = group.flatMap((g) => g.rows.map((row) => g.outcome(row)));
    return guardStorage('apply send results', () =>
      db.transaction('rw', [db.outbox, db.messages, db.receipts], async () => {
        const wantsReceipt = rows.map((r, i) => r.message?.needReadReceipt === true && outcomes[i]?.status !== 'rejected');
        const [queued, messages, receipts] = await Promise.all([
          readQueued(db, rows),
          readPendingRows(db, rows),
          db.receipts.bulkGet(rows.filter((_, i) => wantsReceipt[i]).map((r) => r.messageId)),
        ]);
        const receiptOf = new Map(rows.filter((_, i) => wantsReceipt[i]).map((r, k) => [r.messageId, receipts[k]]));
        const drop = new Set<string>();
        // By id, the latest wins: a row answered twice in one group is written once.
        const putMessages = new Map<string, MessageRow>();
        const putReceipts = new Map<string, MessageReceipt>();
        rows.forEach((row, i) => {
          const r = outcomes[i];
          if (!r) return;
          if (queued.has(row)) drop.add(row.key);
          const m = putMessages.get(row.messageId) ?? messages[i];
          if (!m) return;
          if (r.status === 'rejected') {
            if (m.status !== 'sent') putMessages.set(m.id, { ...m, status: 'failed', error: r.error ?? rejection(r.reason ?? 'invalid-argument', 'message') });
            return;
          }
          const s = r.message;
          // The server's echo of my own message (a `messages` event) may have stored it already.
          if (!(m.status === 'sent' && s && m.seq === s.seq)) {
            const next: MessageRow = { ...m, status: 'sent' };
            delete next.error;
            if (s) Object.assign(next, { convType: s.convType, seq: s.seq, sentAt: s.sentAt, audienceCount: s.audienceCount, pos: s.seq });
            putMessages.set(m.id, next);
          }
          // A receipts event may have beaten this reply (after a crash): never replace a newer state.
          if (s && m.needReadReceipt && !receiptOf.get(m.id) && !putReceipts.has(m.id)) {
            putReceipts.set(m.id, { convId: s.convId, convType: s.convType, messageId: s.id, timestamp: 0, isPeerRead: false, readCount: 0, unreadCount: s.audienceCount });
          }
        });
        // All writes issued at once (the transaction runs them in order; nothing waits between them).
        const writes: Promise<unknown>[] = [];
        if (drop.size > 0) {
          // Keys in send order: a long run of answered rows goes as one key range (unanswered rows
          // stay); short runs key by key, so the change notifications stay exact, as for any small write.
          if (queued.keys) {
            for (const run of keyRuns(queued.keys, drop)) {
              writes.push(run.length > PRECISE_CHUNK ? db.outbox.where(':id').between(run[0] as string, run[run.length - 1] as string, true, true).delete() : db.outbox.bulkDelete(run));
            }
          } else writes.push(db.outbox.bulkDelete([...drop]));
        }
        if (putMessages.size > 0) writes.push(db.messages.bulkPut([...putMessages.values()]));
        if (putReceipts.size > 0) writes.push(db.receipts.bulkPut([...putReceipts.values()]));
        await Promise.all(writes);
        return group.map((g) => g.rows.filter((row) => g.outcome(row) !== undefined).length);
      }),
    );
  }
}

/**
 * The message rows of `rows` (in their order, undefined where absent), read
 * as ranges: a queued message is stored at `PENDING_POS_BASE + createdAt` of
 * its conversation until its answer is applied, so a batch's rows are ONE
 * range of the `[convId+pos]` index per conversation (one request, where
 * bulkGet makes one per row: in Chromium each request costs the worker and
 * the database thread ~0.3 ms, a third of a 10,000-message flush's apply).
 * Rows found elsewhere (already stored as sent, e.g. by the server's echo
 * after a crash) are read by id. Inside the caller's transaction.
 */
async function readPendingRows(db: ReadSyncDb, rows: readonly SendOutboxRow[]): Promise<(MessageRow | undefined)[]> {
  const spans = new Map<string, [number, number]>();
  for (const r of rows) {
    const at = r.message?.createdAt;
    if (typeof at !== 'number' || r.message?.id !== r.messageId || r.message.convId !== r.convId) continue;
    const span = spans.get(r.convId);
    if (span === undefined) spans.set(r.convId, [at, at]);
    else {
      span[0] = Math.min(span[0], at);
      span[1] = Math.max(span[1], at);
    }
  }
  const byId = new Map<string, MessageRow>();
  const found = await Promise.all(
    [...spans].map(([convId, [from, to]]) => db.messages.where('[convId+pos]').between([convId, PENDING_POS_BASE + from], [convId, PENDING_POS_BASE + to], true, true).toArray()),
  );
  for (const list of found) for (const m of list) byId.set(m.id, m);
  const missing = [...new Set(rows.filter((r) => !byId.has(r.messageId)).map((r) => r.messageId))];
  if (missing.length > 0) {
    const rest = await db.messages.bulkGet(missing);
    missing.forEach((id, i) => {
      const m = rest[i];
      if (m !== undefined) byId.set(id, m);
    });
  }
  return rows.map((r) => byId.get(r.messageId));
}

/** Which rows of a group are still queued, and (keys in send order) every outbox key of their span. */
interface Queued {
  has(row: SendOutboxRow): boolean;
  /** The outbox keys from the group's lowest key to its highest, in key order; null for rows queued with `msg:<id>` keys. */
  keys: string[] | null;
}

/**
 * Reads which rows of an answered group are still in the outbox, as ONE
 * request. Rows keyed by send order (`sendKey`: the key names the message and
 * its send order, so a key present is this very row) are checked with a
 * keys-only read of the key range from the group's lowest key to its highest,
 * which also tells which keys lie between them (for the range deletes).
 * Rows queued with `msg:<id>` keys by an earlier version: the rows of the
 * group's send-order range are read, and a row counts as queued when its key
 * holds the same send order.
 */
async function readQueued(db: ReadSyncDb, rows: readonly SendOutboxRow[]): Promise<Queued> {
  if (rows.every((r) => r.key === sendKey(r.enqueuedAt, r.messageId))) {
    let lo = rows[0]?.key ?? '';
    let hi = lo;
    for (const r of rows) {
      if (r.key < lo) lo = r.key;
      if (r.key > hi) hi = r.key;
    }
    const keys = (await db.outbox.where(':id').between(lo, hi, true, true).primaryKeys()) as string[];
    const present = new Set(keys);
    return { has: (row) => present.has(row.key), keys };
  }
  // A batch is consecutive in send order, and later sends only ever come after it.
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    lo = Math.min(lo, r.enqueuedAt);
    hi = Math.max(hi, r.enqueuedAt);
  }
  const queued = (await db.outbox.where('[kind+enqueuedAt]').between(['message', lo], ['message', hi], true, true).toArray()) as SendOutboxRow[];
  const queuedAt = new Map(queued.map((q) => [q.key, q.enqueuedAt]));
  return { has: (row) => queuedAt.get(row.key) === row.enqueuedAt, keys: null };
}

/** The maximal runs of consecutive `keys` (sorted) that are all in `drop`. */
function keyRuns(keys: readonly string[], drop: ReadonlySet<string>): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  for (const k of keys) {
    if (drop.has(k)) run.push(k);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
