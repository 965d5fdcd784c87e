import type { MarkReadResult } from '../../src/bridge';
import type { AckOutboxRow, MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow } from './readState';
import { bulkPutPrecise } from './storageErrors';
import { readMany } from './readMany';
import { reserveAckSeqs } from './meta';
import { ackKey } from '../db/ackKeys';

/**
 * What reading a message writes: the message row with my read recorded and
 * its ack queued under `ackSeq`, and the ack's outbox row.
 */
export function readNow(row: MessageRow, readAt: number, ackSeq: number): [MessageRow, AckOutboxRow] {
  const next: MessageRow = { ...row, readAt, ackStatus: 'pending', ackSeq };
  delete next.ackError;
  delete next.unread;
  return [next, { key: ackKey(ackSeq), kind: 'ack', messageId: row.id, readAt }];
}

/**
 * The durable half of markRead: in ONE read-write transaction, reads every
 * message with one bulkGet, applies the client-side rules (own messages,
 * messages without `needReadReceipt` and unknown ids are skipped; already
 * read ones are an idempotent no-op), records `readAt` on the message rows
 * and writes one outbox row per new ack, keyed in enqueue order. Bulk operations only, so
 * 10,000 acks cost one transaction. Resolves after the commit (the database
 * is opened with strict durability). Nothing here touches the network.
 * Returns the result and the message rows written.
 */
export async function enqueueMarkRead(
  db: ReadSyncDb,
  ids: readonly string[],
  userId: string,
  readAt: number,
): Promise<{ result: MarkReadResult; rows: MessageRow[] }> {
  const unique = [...new Set(ids)];
  const result: MarkReadResult = { queued: 0, alreadyRead: 0, skipped: [] };
  const updated: MessageRow[] = [];
  if (unique.length === 0) return { result, rows: updated };
  await db.transaction('rw', [db.messages, db.outbox, db.meta], async () => {
    const [rows, firstSeq] = await Promise.all([readMany(db.messages, unique), reserveAckSeqs(db, unique.length)]);
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
        const [next, ack] = readNow(row, readAt, firstSeq + i);
        updated.push(next);
        acks.push(ack);
      }
    });
    await Promise.all([bulkPutPrecise(db.messages, updated), acks.length > 0 ? db.outbox.bulkPut(acks) : undefined]);
    result.queued = updated.length;
  });
  return { result, rows: updated };
}
