import Dexie from 'dexie';
import type { ConversationSummary } from '../../src/bridge';
import type { ReadSyncDb } from '../db/ReadSyncDb';
import { coverageOf, historyFloor } from '../store/coverage';
import { readSeqOf } from '../store/readPositions';
import { loadConversations } from './loadViews';
import { toLocalMessages } from './loadMessageWindow';

/**
 * Every stored conversation with my read state in it (`conversations$`).
 * Per conversation two index reads, whatever its length: the unread count is
 * a COUNT of the sparse `[convId+unread]` index (messages from others I have
 * not read) from my read position up, keys only; the last message is one
 * step from the end of `[convId+pos]`. The count is capped (`unreadCountCapped`)
 * when the stored history above my read position has a gap: messages the
 * sync skipped are unknown here, so the count is a lower bound, and says so.
 * Call inside a read transaction over conversations, messages and outbox.
 */
export async function loadConversationSummaries(db: ReadSyncDb): Promise<ConversationSummary[]> {
  const [convs, rows] = await Promise.all([loadConversations(db), db.conversations.toArray()]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return Promise.all(
    convs.map(async (c): Promise<ConversationSummary> => {
      const row = byId.get(c.id);
      const readPosition = readSeqOf(row);
      const [unreadCount, last] = await Promise.all([
        db.messages.where('[convId+unread]').between([c.id, readPosition], [c.id, Dexie.maxKey], false, true).count(),
        db.messages.where('[convId+pos]').between([c.id, Dexie.minKey], [c.id, Dexie.maxKey]).last(),
      ]);
      const [lastMessage] = last === undefined ? [] : await toLocalMessages(db, [last]);
      return { ...c, unreadCount, unreadCountCapped: historyFloor(coverageOf(row)) > readPosition, lastMessage: lastMessage ?? null, readPosition };
    }),
  );
}
