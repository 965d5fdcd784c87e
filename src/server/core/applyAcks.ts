import type { Ack, AckResult } from '../../protocol';
import type { MemberSpan, MessageRecord, ReadRecord, Store } from '../store/Store';

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
  // A batch costs a fixed number of statements whatever its size: one read of its messages,
  // one of the reader's spans per conversation, one of what they already read, one insert
  // of the new reads and one update of the touched counters.
  const messages = new Map(store.getMessages(acks.map((a) => a.m)).map((m) => [m.id, m]));
  const spans = new Map<string, MemberSpan[]>();
  const verdicts: (AckResult | MessageRecord)[] = acks.map((ack) => {
    const msg = messages.get(ack.m);
    if (!msg) return { m: ack.m, s: 'rejected', r: 'not-found' };
    if (msg.senderId === userId) return { m: ack.m, s: 'rejected', r: 'own-message' };
    let mine = spans.get(msg.convId);
    if (!mine) spans.set(msg.convId, (mine = store.spansOf(msg.convId, userId)));
    // In the audience = member at send time (even if left since: queued reads still count).
    if (!mine.some((s) => s.joinedSeq < msg.seq && (s.leftSeq === null || msg.seq < s.leftSeq))) {
      return { m: ack.m, s: 'rejected', r: mine.some((s) => s.leftSeq === null) ? 'not-in-audience' : 'not-member' };
    }
    if (!msg.needReadReceipt) return { m: ack.m, s: 'rejected', r: 'receipt-not-requested' };
    return msg;
  });
  const candidates = verdicts.filter((x): x is MessageRecord => 'senderId' in x).map((m) => m.id);
  const read = new Set(store.readAmong(userId, candidates));
  const reads: ReadRecord[] = [];
  const changed = new Set<MessageRecord>();
  const results = verdicts.map((v, i): AckResult => {
    if (!('senderId' in v)) return v;
    const ack = acks[i] as Ack;
    if (read.has(v.id)) return { m: ack.m, s: 'duplicate' };
    read.add(v.id);
    const ackSeq = store.nextAckSeq();
    reads.push({ messageId: v.id, userId, readAt: ack.t, ackSeq });
    v.readCount += 1;
    v.lastReadAt = Math.max(v.lastReadAt, ack.t);
    v.lastAckSeq = ackSeq;
    changed.add(v);
    return { m: ack.m, s: 'accepted' };
  });
  store.insertReads(reads);
  store.updateReadStates([...changed].map((m) => ({ messageId: m.id, readCount: m.readCount, lastReadAt: m.lastReadAt, lastAckSeq: m.lastAckSeq })));
  return { results, changes: [...changed].map((m) => ({ messageId: m.id, senderId: m.senderId })) };
}
