import type { MarkReadResult } from '../../src/bridge';
import type { AckOutboxRow, MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow } from './readState';
import { bulkPutPrecise } from './storageErrors';
import { readMessages, type PositionHint } from './readMany';
import { reserveAckSeqs } from './meta';
import { ackKey } from '../db/ackKeys';
import { loadReceiptMode } from './receiptMode';

/**
 * What reading a message writes: the message row with my read recorded and
 * its ack queued under `ackSeq`, and the ack's outbox row (`private` when
 * read while my receipts are private: fixed now, whatever the mode is when it
 * is sent).
 */
export function readNow(row: MessageRow, readAt: number, ackSeq: number, isPrivate = false): [MessageRow, AckOutboxRow] {
  const next: MessageRow = { ...row, readAt, ackStatus: 'pending', ackSeq };
  delete next.ackError;
  delete next.unread;
  const ack: AckOutboxRow = { key: ackKey(ackSeq), kind: 'ack', messageId: row.id, readAt };
  if (isPrivate) ack.private = 1;
  return [next, ack];
}

/**
 * The durable half of markRead: in ONE read-write transaction, reads every
 * message with one bulkGet, applies the client-side rules (own messages,
 * messages without `needReadReceipt` and unknown ids are skipped; already
 * read ones are an idempotent no-op), records `readAt` on the message rows
 * and writes one outbox row per new ack, keyed in enqueue order, flagged
 * private while my receipt mode is private. Bulk operations only, so
 * 10,000 acks cost one transaction. Resolves after the commit (the database
 * is opened with strict durability). Nothing here touches the network.
 * `hint` (the positions of messages on screen) lets the read be range reads
 * (`readMessages`); the rules always run on the rows read here.
 * Returns the result and the message rows written.
 */
export async function enqueueMarkRead(
  db: ReadSyncDb,
  ids: readonly string[],
  userId: string,
  readAt: number,
  hint?: PositionHint,
): Promise<{ result: MarkReadResult; rows: MessageRow[] }> {
  const unique = [...new Set(ids)];
  const result: MarkReadResult = { queued: 0, alreadyRead: 0, skipped: [] };
  const updated: MessageRow[] = [];
  if (unique.length === 0) return { result, rows: updated };
  await db.transaction('rw', [db.messages, db.outbox, db.meta], async () => {
    // The mode is read in the same transaction: a read made after setReceiptMode committed is flagged by it.
    const [rows, firstSeq, mode] = await Promise.all([readMessages(db.messages, unique, hint), reserveAckSeqs(db, unique.length), loadReceiptMode(db)]);
    const acks: AckOutboxRow[] = [];
    unique.forEach((id, i) => {
      const row = rows[i];
      if (row === undefined || !isMessageRow(row)) {
        result.skipped.push({ messageId: id, reason: 'not-found' });
      } else if (row.senderId === userId) {
        result.skipped.push({ messageId: id, reason: 'own-message' });
      } else if (!row.needReadReceipt) {
        result.skipped.push({ messageId: id, reason: 'receipt-not-requested' });
      } else if (row.readAt !== undefined || row.ackStatus !== 'none') {
        result.alreadyRead++;
      } else {
        // Seqs of skipped ids stay unused: gaps are harmless, reuse would not be.
        const [next, ack] = readNow(row, readAt, firstSeq + i, mode === 'private');
        updated.push(next);
        acks.push(ack);
      }
    });
    await Promise.all([bulkPutPrecise(db.messages, updated), acks.length > 0 ? db.outbox.bulkPut(acks) : undefined]);
    result.queued = updated.length;
  });
  return { result, rows: updated };
}
