import Dexie from 'dexie';
import { StorageError, type AckResult, type ErrorPayload, type MessageReceipt, type SendResult } from '../../src/protocol';
import type { AckOutboxRow, MessageRow, ReadSyncDb, SendOutboxRow } from '../db/ReadSyncDb';
import { queuedAckRows } from '../db/ackKeys';

const encoder = new TextEncoder();

/** Room kept in a request body for the envelope around the items. */
const BODY_OVERHEAD = 256;

/** The error stored on an item the server refused, with its reason as `code`. */
export function rejection(reason: string, what: 'read receipt' | 'message'): ErrorPayload {
  return { name: 'ReceiptRuleError', code: reason as ErrorPayload['code'], message: `${what} refused by the server: ${reason}` };
}

/**
 * The flusher's side of the database: reads outbox batches and applies the
 * server's answers, each answer in one rw transaction, so an outbox row and
 * the state it stands for change together or not at all. Never touches the
 * network; every IndexedDB failure surfaces as a `StorageError`.
 */
export class OutboxStore {
  private readonly ackQueue: {
    runs: [string, string][];
    refused: { row: AckOutboxRow; error: ErrorPayload }[];
    answered: number;
    resolve(n: number): void;
    reject(err: unknown): void;
  }[] = [];
  private ackApplying = false;

  constructor(private readonly db: ReadSyncDb) {}

  /**
   * The oldest acks, in key order (= enqueue order), as one getAll over the
   * key range, starting after the key `after` when given (reading ahead while
   * earlier acks are still in the outbox).
   */
  async readAcks(maxCount: number, after?: string): Promise<AckOutboxRow[]> {
    return this.guard('read the outbox', () => queuedAckRows(this.db, after).limit(maxCount).toArray());
  }

  /** The oldest messages to send, in send order, cut to fit `maxBytes` of JSON (at least one message). */
  async readMessages(maxCount: number, maxBytes = Infinity): Promise<SendOutboxRow[]> {
    const rows = (await this.guard('read the outbox', () =>
      this.db.outbox.where('[kind+enqueuedAt]').between(['message', Dexie.minKey], ['message', Dexie.maxKey]).limit(maxCount).toArray(),
    )) as SendOutboxRow[];
    if (maxBytes === Infinity) return rows;
    let bytes = BODY_OVERHEAD;
    let n = 0;
    for (const row of rows) {
      bytes += encoder.encode(JSON.stringify(row.message ?? null)).length + 1;
      if (n > 0 && bytes > maxBytes) break;
      n++;
    }
    return rows.slice(0, n);
  }

  /** Whether anything waits in the outbox. */
  async hasPending(): Promise<boolean> {
    return (await this.guard('count the outbox', () => this.db.outbox.count())) > 0;
  }

  /**
   * Applies an ack batch's results: confirmed acks (accepted or duplicate)
   * leave the outbox and their message shows 'sent'; refused ones leave it as
   * 'rejected' with the reason. Rows without a result stay for the next try.
   * Returns how many rows the results answered.
   */
  async applyAckResults(rows: AckOutboxRow[], results: readonly AckResult[]): Promise<number> {
    const byId = new Map(results.map((r) => [r.m, r]));
    return this.applyAcks(rows, (row) => {
      const r = byId.get(row.messageId);
      if (!r) return undefined;
      return r.s === 'rejected' ? rejection(r.r ?? 'invalid-argument', 'read receipt') : null;
    });
  }

  /** Marks every row of a batch rejected with one whole-request error. */
  async rejectAcks(rows: AckOutboxRow[], error: ErrorPayload): Promise<number> {
    return this.applyAcks(rows, () => error);
  }

  /**
   * Applies a send batch's results: a confirmed message gets its server
   * fields (seq, sentAt, audience) and, if it asked for receipts, its receipt
   * row; a refused one becomes 'failed' with the reason. Either way it leaves
   * the outbox, so one bad message never blocks the ones after it.
   */
  async applyMessageResults(rows: SendOutboxRow[], results: readonly SendResult[]): Promise<number> {
    const byId = new Map(results.map((r) => [r.id, r]));
    return this.applyMessages(rows, (row) => byId.get(row.messageId));
  }

  /** Marks every message of a batch failed with one whole-request error. */
  async rejectMessages(rows: SendOutboxRow[], error: ErrorPayload): Promise<number> {
    return this.applyMessages(rows, (row) => ({ id: row.messageId, status: 'rejected' as const, error }));
  }

  /**
   * `outcome` per row: undefined = no answer (keep), null = confirmed, an
   * error = refused. `rows` must be consecutive acks of one `readAcks` (or a
   * consecutive part of one), which is what makes the range deletes below
   * exact: ack keys only grow (db/ackKeys.ts), so no other row can be inside
   * a run of keys read together. A confirmed ack only loses its outbox row:
   * its message shows 'sent' from then on without being rewritten
   * (MessageRow). A refused one is written to its message as 'rejected'.
   */
  private applyAcks(rows: AckOutboxRow[], outcome: (row: AckOutboxRow) => ErrorPayload | null | undefined): Promise<number> {
    const runs: [string, string][] = [];
    const refused: { row: AckOutboxRow; error: ErrorPayload }[] = [];
    let run: [string, string] | null = null;
    let answered = 0;
    for (const row of rows) {
      const result = outcome(row);
      if (result === undefined) {
        run = null;
        continue;
      }
      answered++;
      // Refused rows leave the outbox too; they only need their message marked.
      if (result !== null) refused.push({ row, error: result });
      if (run) run[1] = row.key;
      else runs.push((run = [row.key, row.key]));
    }
    if (answered === 0) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      this.ackQueue.push({ runs, refused, answered, resolve, reject });
      if (!this.ackApplying) void this.applyQueuedAcks();
    });
  }

  /**
   * Group commit: every ack answer queued while a transaction runs goes into
   * the next one together (with three requests in flight and 20 batches, about
   * half as many transactions, and reads wait behind fewer of them). Each
   * answer still lands in exactly one transaction, all or nothing.
   */
  private async applyQueuedAcks(): Promise<void> {
    this.ackApplying = true;
    try {
      while (this.ackQueue.length > 0) {
        // Answers with refusals get a transaction of their own, in order, so a late refusal
        // of an ack confirmed just before still finds it gone (see applyAcks).
        let n = 1;
        if (this.ackQueue[0]!.refused.length === 0) while (n < this.ackQueue.length && this.ackQueue[n]!.refused.length === 0) n++;
        const group = this.ackQueue.splice(0, n);
        try {
          await this.applyAckGroup(
            group.flatMap((g) => g.runs),
            group.flatMap((g) => g.refused),
          );
          for (const g of group) g.resolve(g.answered);
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.ackApplying = false;
    }
  }

  private applyAckGroup(runs: [string, string][], refused: { row: AckOutboxRow; error: ErrorPayload }[]): Promise<void> {
    const db = this.db;
    return this.guard('apply ack results', () =>
      db.transaction('rw', [db.outbox, db.messages], async () => {
        if (refused.length > 0) {
          // Only an ack still queued: one already confirmed (by an earlier try) stays 'sent'.
          const [current, messages] = await Promise.all([
            db.outbox.bulkGet(refused.map((r) => r.row.key)),
            db.messages.bulkGet(refused.map((r) => r.row.messageId)),
          ]);
          const put: MessageRow[] = [];
          refused.forEach(({ error }, i) => {
            const m = messages[i];
            if (current[i] && m && m.ackStatus === 'pending') put.push({ ...m, ackStatus: 'rejected', ackError: error });
          });
          if (put.length > 0) await db.messages.bulkPut(put);
        }
        await Promise.all(runs.map(([from, to]) => db.outbox.where(':id').between(from, to, true, true).delete()));
      }),
    );
  }

  private applyMessages(rows: SendOutboxRow[], resultOf: (row: SendOutboxRow) => (SendResult & { error?: ErrorPayload }) | undefined): Promise<number> {
    const db = this.db;
    return this.guard('apply send results', () =>
      db.transaction('rw', [db.outbox, db.messages, db.receipts], async () => {
        const current = (await db.outbox.bulkGet(rows.map((r) => r.key))) as (SendOutboxRow | undefined)[];
        const messages = await db.messages.bulkGet(rows.map((r) => r.messageId));
        const receipts = await db.receipts.bulkGet(rows.map((r) => r.messageId));
        const drop: string[] = [];
        const putMessages: MessageRow[] = [];
        const putReceipts: MessageReceipt[] = [];
        let answered = 0;
        rows.forEach((row, i) => {
          const r = resultOf(row);
          if (!r) return;
          answered++;
          if (current[i]?.enqueuedAt === row.enqueuedAt) drop.push(row.key);
          const m = messages[i];
          if (!m) return;
          if (r.status === 'rejected') {
            if (m.status !== 'sent') putMessages.push({ ...m, status: 'failed', error: r.error ?? rejection(r.reason ?? 'invalid-argument', 'message') });
            return;
          }
          const s = r.message;
          const next: MessageRow = { ...m, status: 'sent' };
          delete next.error;
          if (s) Object.assign(next, { convType: s.convType, seq: s.seq, sentAt: s.sentAt, audienceCount: s.audienceCount, pos: s.seq });
          putMessages.push(next);
          // A receipts event may have beaten this reply (after a crash): never replace a newer state.
          if (s && m.needReadReceipt && !receipts[i]) {
            putReceipts.push({
              convId: s.convId,
              convType: s.convType,
              messageId: s.id,
              timestamp: 0,
              isPeerRead: false,
              readCount: 0,
              unreadCount: s.audienceCount,
            });
          }
        });
        await db.outbox.bulkDelete(drop);
        if (putMessages.length > 0) await db.messages.bulkPut(putMessages);
        if (putReceipts.length > 0) await db.receipts.bulkPut(putReceipts);
        return answered;
      }),
    );
  }

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const message = err instanceof Error ? err.message : String(err);
      throw new StorageError(`could not ${what}: ${name}: ${message}`, err);
    }
  }
}
