import type { Ack, AckResult } from '../../protocol';
import type { Store } from '../store/Store';

/** A message whose receipt state an ack batch moved forward. */
export interface ReceiptChange {
  messageId: string;
  senderId: string;
}

/**
 * Applies read acks of `userId`, item by item, inside the caller's
 * transaction. Each accepted ack adds one read row and bumps the message's
 * counters in O(1); a repeated ack is `duplicate` and changes nothing, so
 * counts only ever go up. Rejections carry the rule that refused them.
 */
export function applyAcks(store: Store, userId: string, acks: readonly Ack[]): { results: AckResult[]; changes: ReceiptChange[] } {
  const results: AckResult[] = [];
  const changes: ReceiptChange[] = [];
  for (const ack of acks) {
    const msg = store.getMessage(ack.m);
    if (!msg) {
      results.push({ m: ack.m, s: 'rejected', r: 'not-found' });
      continue;
    }
    if (msg.senderId === userId) {
      results.push({ m: ack.m, s: 'rejected', r: 'own-message' });
      continue;
    }
    // In the audience = member at send time (even if left since: queued reads still count).
    if (!store.spanAt(msg.convId, userId, msg.seq)) {
      const memberNow = store.currentSpan(msg.convId, userId) !== undefined;
      results.push({ m: ack.m, s: 'rejected', r: memberNow ? 'not-in-audience' : 'not-member' });
      continue;
    }
    if (!msg.needReadReceipt) {
      results.push({ m: ack.m, s: 'rejected', r: 'receipt-not-requested' });
      continue;
    }
    if (store.getRead(msg.id, userId)) {
      results.push({ m: ack.m, s: 'duplicate' });
      continue;
    }
    const ackSeq = store.nextAckSeq();
    store.insertRead({ messageId: msg.id, userId, readAt: ack.t, ackSeq });
    store.updateReadState(msg.id, { readCount: msg.readCount + 1, lastReadAt: Math.max(msg.lastReadAt, ack.t), lastAckSeq: ackSeq });
    results.push({ m: ack.m, s: 'accepted' });
    changes.push({ messageId: msg.id, senderId: msg.senderId });
  }
  return { results, changes };
}
