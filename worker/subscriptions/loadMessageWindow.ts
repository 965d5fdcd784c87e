import Dexie from 'dexie';
import type { LocalMessage, MessageWindow } from '../../src/bridge';
import type { MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { coverageOf, historyFloor } from '../store/coverage';
import { loadQueuedAcks } from '../store/queuedAcks';
import { isMessageRow, toLocalMessage } from '../store/readState';

/** Stored rows as the UI gets them: storage-only fields gone, my acks shown 'sent' once they left the outbox. */
export async function toLocalMessages(db: ReadSyncDb, rows: readonly unknown[]): Promise<LocalMessage[]> {
  const valid: MessageRow[] = [];
  for (const row of rows) if (isMessageRow(row)) valid.push(row);
  const queued = await loadQueuedAcks(db, valid);
  return valid.map((row) => toLocalMessage(row, queued.get(row.id)));
}

/**
 * The newest `limit` messages of a conversation's history as stored without
 * a gap (above its `historyFloor`: a stretch the sync skipped is not shown as
 * if it did not exist), oldest first, my pending messages last. Damaged rows
 * are skipped. `hasOlder`: rows beyond the limit, or history not loaded yet.
 * Call inside a read transaction over messages, conversations and outbox.
 */
export async function loadMessageWindow(db: ReadSyncDb, convId: string, limit: number): Promise<MessageWindow> {
  const floor = historyFloor(coverageOf(await db.conversations.get(convId)));
  const index = db.messages.where('[convId+pos]');
  // The window's first row without walking back over it one cursor step at a time (10,000 steps took
  // ~150 ms in Chromium) and without counting the conversation (a count walks every row): ONE advance
  // to the limit-th row from the end; the row after it, if any, says older ones exist.
  const edge = await index
    .between([convId, floor], [convId, Dexie.maxKey], false, true)
    .reverse()
    .offset(limit - 1)
    .limit(2)
    .keys();
  const first = (edge[0] as [string, number] | undefined)?.[1];
  const rows: unknown[] = await index.between([convId, first ?? floor], [convId, Dexie.maxKey], first !== undefined, true).toArray();
  return { convId, messages: await toLocalMessages(db, rows), limit, hasOlder: edge.length > 1 || floor > 0 };
}
