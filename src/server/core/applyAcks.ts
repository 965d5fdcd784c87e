import type { Ack, AckResult } from '../../protocol';
import type { MemberSpan, MessageRecord, Store } from '../store/Store';

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
  // One read for all the batch's messages and one per conversation for the reader's membership,
  // instead of two lookups per ack; counters are written once per message at the end.
  const messages = new Map(store.getMessages(acks.map((a) => a.m)).map((m) => [m.id, m]));
  const spans = new Map<string, MemberSpan[]>();
  const changed = new Set<MessageRecord>();
  for (const ack of acks) {
    const msg = messages.get(ack.m);
    if (!msg) {
      results.push({ m: ack.m, s: 'rejected', r: 'not-found' });
      continue;
    }
    if (msg.senderId === userId) {
      results.push({ m: ack.m, s: 'rejected', r: 'own-message' });
      continue;
    }
    let mine = spans.get(msg.convId);
    if (!mine) spans.set(msg.convId, (mine = store.spansOf(msg.convId, userId)));
    // In the audience = member at send time (even if left since: queued reads still count).
    if (!mine.some((s) => s.joinedSeq < msg.seq && (s.leftSeq === null || msg.seq < s.leftSeq))) {
      const memberNow = mine.some((s) => s.leftSeq === null);
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
