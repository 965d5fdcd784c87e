import Dexie from 'dexie';
import type { ErrorPayload, MessageReceipt, SendResult } from '../../src/protocol';
import type { MessageRow, ReadSyncDb, SendOutboxRow } from '../db/ReadSyncDb';
import { guardStorage, rejection } from './outboxErrors';

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
        // The rows still queued, read as ONE range of send order (a batch is consecutive in it, and
        // later sends only ever come after): a get per row cost as much as the rest of the apply.
        let lo = Infinity;
        let hi = -Infinity;
        for (const r of rows) {
          lo = Math.min(lo, r.enqueuedAt);
          hi = Math.max(hi, r.enqueuedAt);
        }
        const [queued, messages, receipts] = await Promise.all([
          db.outbox.where('[kind+enqueuedAt]').between(['message', lo], ['message', hi], true, true).toArray() as Promise<SendOutboxRow[]>,
          db.messages.bulkGet(rows.map((r) => r.messageId)),
          db.receipts.bulkGet(rows.filter((_, i) => wantsReceipt[i]).map((r) => r.messageId)),
        ]);
        const receiptOf = new Map(rows.filter((_, i) => wantsReceipt[i]).map((r, k) => [r.messageId, receipts[k]]));
        const queuedAt = new Map(queued.map((q) => [q.key, q.enqueuedAt]));
        const drop = new Set<string>();
        // By id, the latest wins: a row answered twice in one group is written once.
        const putMessages = new Map<string, MessageRow>();
        const putReceipts = new Map<string, MessageReceipt>();
        rows.forEach((row, i) => {
          const r = outcomes[i];
          if (!r) return;
          if (queuedAt.get(row.key) === row.enqueuedAt) drop.add(row.key);
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
        if (drop.size > 0) await db.outbox.bulkDelete([...drop]);
        if (putMessages.size > 0) await db.messages.bulkPut([...putMessages.values()]);
        if (putReceipts.size > 0) await db.receipts.bulkPut([...putReceipts.values()]);
        return group.map((g) => g.rows.filter((row) => g.outcome(row) !== undefined).length);
      }),
    );
  }
}
