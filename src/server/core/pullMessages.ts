import type { Conversation, HistoryQueryRequest, HistoryQueryResponse, Message, PullMessagesRequest, PullMessagesResponse } from '../../protocol';
import { ReceiptRuleError, pullPositions } from '../../protocol';
import type { ConversationRecord, Store } from '../store/Store';
import { toMessage } from './toMessage';

/** Messages per pull when the request names no `limit`. */
export const DEFAULT_PULL_LIMIT = 500;
/** Most messages per history page, whatever the request's `count`. */
export const MAX_HISTORY_PAGE = 500;

/**
 * The user's conversations, and each one's messages after the client's
 * position, ordered by conversation then `seq`, at most `limit` in all
 * (`hasMore` then says: pull again). With `newest`, a conversation that has
 * more than `newest` messages after the position sends only its newest
 * `newest`, and `skipped` says where they start: a new member, or a fresh
 * install, sees the newest messages of a 100,000-message conversation after
 * one page, not after 200 (older ones come with `historyPage`).
 */
export async function pullMessages(
  store: Store,
  userId: string,
  req: PullMessagesRequest,
  view: (rec: ConversationRecord) => Conversation,
): Promise<PullMessagesResponse> {
  const limit = req.limit ?? DEFAULT_PULL_LIMIT;
  const conversations: Conversation[] = [];
  const messages: Message[] = [];
  const skipped: [string, number][] = [];
  let hasMore = false;
  // A Map, never `req.since[convId]`: a conversation may be called `constructor` or `__proto__`.
  const since = pullPositions(req);
  for (const convId of await store.conversationsOf(userId)) {
    const rec = await store.getConversation(convId);
    if (!rec) continue;
    conversations.push(view(rec));
    let after = since.get(convId) ?? 0;
    const room = limit - messages.length;
    if (hasMore || rec.seq <= after) continue;
    if (room > 0 && req.newest !== undefined && rec.seq - after > req.newest) {
      // Positions also count membership changes, so more positions than `newest` may still be few messages.
      const tail = await store.messagesBefore(convId, rec.seq + 1, req.newest + 1);
      const first = tail[0];
      if (tail.length > req.newest && first && first.seq > after) {
        skipped.push([convId, first.seq]);
        after = first.seq;
      }
    }
    const got = await store.messagesAfter(convId, after, room + 1);
    if (got.length > room) hasMore = true;
    for (const m of got.slice(0, room)) messages.push(toMessage(m));
  }
  const res: PullMessagesResponse = { type: 'pull-messages-result', conversations, messages, hasMore };
  if (skipped.length > 0) res.skipped = skipped;
  return res;
}

/**
 * One page of a conversation's history for a current member: the newest
 * `count` (at most MAX_HISTORY_PAGE) messages before position `before`
 * (before the end when absent), ascending, and whether older ones exist. An
 * index range read backwards: O(page), however long the conversation.
 */
export async function historyPage(store: Store, userId: string, req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
  const rec = await store.getConversation(req.convId);
  if (!rec) throw new ReceiptRuleError('not-found', `conversation ${req.convId} not found`, { status: 404 });
  if (!(await store.currentSpan(rec.id, userId))) throw new ReceiptRuleError('not-member', `you are not a member of conversation ${rec.id}`, { status: 403 });
  const count = Math.min(req.count, MAX_HISTORY_PAGE);
  const got = await store.messagesBefore(rec.id, req.before ?? rec.seq + 1, count + 1);
  const hasOlder = got.length > count;
  return { type: 'history-result', convId: rec.id, messages: got.slice(hasOlder ? 1 : 0).map(toMessage), hasOlder };
}
