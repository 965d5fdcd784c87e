import Dexie from 'dexie';
import type { ReadSyncDb, SendOutboxRow } from '../db/ReadSyncDb';

/**
 * Dismisses what the server refused, in one transaction: rejected acks go
 * back to `ackStatus: 'none'` (their `readAt` stays, so markRead does not
 * queue them again), and failed messages of mine are deleted with any outbox
 * row left for them: the server never accepted them, so nobody else has them.
 * Outbox rows of messages are found by message id among the queued sends
 * (their keys carry the send order, or are `msg:<id>` from before it), so no
 * row is left to send a message whose row is gone.
 */
export async function clearRejected(db: ReadSyncDb): Promise<void> {
  await db.transaction('rw', [db.messages, db.outbox], async () => {
    await db.messages
      .where('ackStatus')
      .equals('rejected')
      .modify((row) => {
        row.ackStatus = 'none';
        delete row.ackError;
      });
    const failed = new Set(await db.messages.where('status').equals('failed').primaryKeys());
    if (failed.size === 0) return;
    const sends = (await db.outbox.where('[kind+enqueuedAt]').between(['message', Dexie.minKey], ['message', Dexie.maxKey]).toArray()) as SendOutboxRow[];
    await Promise.all([db.messages.bulkDelete([...failed]), db.outbox.bulkDelete(sends.filter((r) => failed.has(r.messageId)).map((r) => r.key))]);
  });
}
