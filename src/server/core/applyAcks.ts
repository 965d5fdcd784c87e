import type { Ack, AckResult } from '../../protocol';
import type { MessageRecord, Store } from '../store/Store';

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
  // Messages touched by this batch: read once, counters written once at the end (a batch often hits one message many times).
  const touched = new Map<string, MessageRecord | null>();
  const changed = new Set<MessageRecord>();
  for (const ack of acks) {
    let msg = touched.get(ack.m);
    if (msg === undefined) touched.set(ack.m, (msg = store.getMessage(ack.m) ?? null));
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
    const ackSeq = store.lastAckSeq() + 1;
    if (!store.insertRead({ messageId: msg.id, userId, readAt: ack.t, ackSeq })) {
      results.push({ m: ack.m, s: 'duplicate' });
      continue;
    }
    store.nextAckSeq();
    msg.readCount += 1;
    msg.lastReadAt = Math.max(msg.lastReadAt, ack.t);
    msg.lastAckSeq = ackSeq;
    changed.add(msg);
    results.push({ m: ack.m, s: 'accepted' });
  }
  for (const m of changed) store.updateReadState(m.id, { readCount: m.readCount, lastReadAt: m.lastReadAt, lastAckSeq: m.lastAckSeq });
  return { results, changes: [...changed].map((m) => ({ messageId: m.id, senderId: m.senderId })) };
}
