import type { Message } from '../../protocol';
import type { MessageRecord } from '../store/Store';

/** The wire form of a stored message. */
export function toMessage(r: MessageRecord): Message {
  return {
    id: r.id,
    convId: r.convId,
    convType: r.convType,
    senderId: r.senderId,
    text: r.text,
    needReadReceipt: r.needReadReceipt,
    seq: r.seq,
    sentAt: r.sentAt,
    audienceCount: r.audienceCount,
  };
}
