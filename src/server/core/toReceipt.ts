import type { MessageReceipt } from '../../protocol';
import type { MessageRecord } from '../store/Store';

/**
 * The sender's view of a message's receipt state, from its O(1) counters.
 * c2c: read once the peer has. Group: `isPeerRead` once the whole audience has.
 */
export function toReceipt(m: MessageRecord): MessageReceipt {
  const unreadCount = Math.max(0, m.audienceCount - m.readCount);
  return {
    convId: m.convId,
    convType: m.convType,
    messageId: m.id,
    timestamp: m.lastReadAt,
    isPeerRead: m.convType === 'c2c' ? m.readCount > 0 : m.audienceCount > 0 && unreadCount === 0,
    readCount: m.readCount,
    unreadCount,
    // Never below the readers (a read implies delivery; rows from before deliveries were counted).
    deliveredCount: Math.max(m.deliveredCount ?? 0, m.readCount),
  };
}
