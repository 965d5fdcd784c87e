import type { AckResult, DeliveryResult, ErrorPayload, PositionResult, ReadPositionTuple, RejectReason, UserSettings } from '../../src/protocol';
import type { AckOutboxRow, MessageRow, PositionOutboxRow, ReadSyncDb, SettingsOutboxRow } from '../db/ReadSyncDb';
import { queuedAckRows } from '../db/ackKeys';
import { applyReadPositions, queuedPositionRows } from '../store/readPositions';
import { loadQueuedSettings, settingsAnswered } from '../store/receiptMode';
import { deliveriesAnswered, readDeliveryItems, type DeliveryItem } from '../store/deliveries';
import { MessageOutbox } from './MessageOutbox';
import { guardStorage, rejection } from './outboxErrors';

export { rejection };

/**
 * The flusher's side of the database: reads outbox batches and applies the
 * server's answers, each answer in one rw transaction, so an outbox row and
 * the state it stands for change together or not at all. Acks live here, the
 * messages I send in `messages` (MessageOutbox). Never touches the network;
 * every IndexedDB failure surfaces as a `StorageError`.
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

  /** The messages I send (reads and answers); acks are handled here. */
  readonly messages: MessageOutbox;

  constructor(private readonly db: ReadSyncDb) {
    this.messages = new MessageOutbox(db);
  }

  /**
   * The oldest acks, in key order (= enqueue order), as one getAll over the
   * key range, starting after the key `after` when given (reading ahead while
   * earlier acks are still in the outbox).
   */
  async readAcks(maxCount: number, after?: string): Promise<AckOutboxRow[]> {
    return guardStorage('read the outbox', () => queuedAckRows(this.db, after).limit(maxCount).toArray());
  }

  /** The queued read positions (one per conversation), at most `maxCount`. */
  async readPositions(maxCount: number): Promise<PositionOutboxRow[]> {
    return guardStorage('read the outbox', () => queuedPositionRows(this.db).limit(maxCount).toArray());
  }

  /**
   * Up to `maxRanges` queued delivery ranges (issue 10.5), rows in key order
   * after the key `after` (see store/deliveries.readDeliveryItems).
   */
  async readDeliveries(maxRanges: number, after?: string): Promise<{ items: DeliveryItem[]; last: string | null }> {
    return guardStorage('read the outbox', () => readDeliveryItems(this.db, maxRanges, after));
  }

  /**
   * Applies the answers to delivery ranges sent in one batch, in ONE
   * transaction (see store/deliveries.deliveriesAnswered): each answered
   * range leaves its row, ranges added meanwhile stay. Returns how many were
   * answered and the refusals.
   */
  async applyDeliveryResults(items: readonly DeliveryItem[], results: readonly DeliveryResult[] | undefined): Promise<{ answered: number; refused: RejectReason[] }> {
    return guardStorage('apply delivery results', () => deliveriesAnswered(this.db, items, results));
  }

  /** My queued settings change (the receipt mode), if any. */
  async readSettings(): Promise<SettingsOutboxRow | undefined> {
    return guardStorage('read the outbox', () => loadQueuedSettings(this.db));
  }

  /** The server answered (or, `settings` undefined, refused) the settings change `sent` (see settingsAnswered). */
  async applySettingsAnswer(sent: SettingsOutboxRow, settings: UserSettings | undefined): Promise<void> {
    await guardStorage('apply the settings answer', () => settingsAnswered(this.db, sent, settings));
  }

  /**
   * Applies the answers to read positions sent in one batch, in ONE
   * transaction: accepted or duplicate, the row leaves the outbox (unless a
   * later `markConversationRead` raised it meanwhile: then it stays, to be sent
   * again) and my position becomes at least the server's `u`; refused, the row
   * leaves with its reason, returned for the caller to surface. Rows without
   * an answer stay. Returns how many were answered and the refusals.
   */
  async applyPositionResults(
    rows: readonly PositionOutboxRow[],
    results: readonly PositionResult[] | undefined,
  ): Promise<{ answered: number; refused: ErrorPayload[]; written: MessageRow[] }> {
    const byConv = new Map((results ?? []).map((r) => [r.c, r]));
    const db = this.db;
    return guardStorage('apply read position results', () =>
      db.transaction('rw', [db.outbox, db.conversations, db.messages], async () => {
        const current = (await db.outbox.bulkGet(rows.map((r) => r.key))) as (PositionOutboxRow | undefined)[];
        const drop: string[] = [];
        const moved: ReadPositionTuple[] = [];
        const refused: ErrorPayload[] = [];
        let answered = 0;
        rows.forEach((row, i) => {
          const r = byConv.get(row.convId);
          if (!r) return;
          answered++;
          const now = current[i];
          if (now && now.seq <= row.seq) drop.push(row.key);
          if (r.s === 'rejected') refused.push(rejection(r.r ?? 'invalid-argument', 'read position'));
          else if (r.u !== undefined) moved.push([row.convId, r.u, row.readAt]);
        });
        if (drop.length > 0) await db.outbox.bulkDelete(drop);
        const written = await applyReadPositions(db, moved);
        return { answered, refused, written };
      }),
    );
  }

  /** Whether anything waits in the outbox. */
  async hasPending(): Promise<boolean> {
    return (await guardStorage('count the outbox', () => this.db.outbox.count())) > 0;
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
    return guardStorage('apply ack results', () =>
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

}
