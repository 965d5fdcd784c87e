import type { ReadSyncDb } from '../db/ReadSyncDb';
import { messageKey } from './enqueueMessage';

/**
 * Dismisses what the server refused, in one transaction: rejected acks go
 * back to `ackStatus: 'none'` (their `readAt` stays, so markRead does not
 * queue them again), and failed messages of mine are deleted with any outbox
 * row left for them: the server never accepted them, so nobody else has them.
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
    const failed = await db.messages.where('status').equals('failed').primaryKeys();
    await db.messages.bulkDelete(failed);
    await db.outbox.bulkDelete(failed.map(messageKey));
  });
}
