import type { Ack, AckResult } from '../../protocol';
import type { MemberSpan, ReadRecord, ReadStateUpdate, Store } from '../store/Store';
import type { MessageMeta, MessageMetaCache } from './MessageMetaCache';

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
export function applyAcks(store: Store, userId: string, acks: readonly Ack[], metas: MessageMetaCache): { results: AckResult[]; changes: ReceiptChange[] } {
  // A batch costs a fixed number of statements whatever its size: its messages' metadata
  // (cached), the reader's spans once per conversation, one multi-row insert of the reads
  // that skips those already stored, and one relative update of the counters.
  const messages = metas.get(acks.map((a) => a.m));
  const spans = new Map<string, MemberSpan[]>();
  const verdicts: (AckResult | MessageMeta)[] = acks.map((ack) => {
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
  // Sequence numbers are handed out before the insert; a duplicate leaves a gap, which
  // cursors tolerate (they only need to grow).
  const reads: ReadRecord[] = [];
  for (const [i, v] of verdicts.entries()) {
    if ('senderId' in v) reads.push({ messageId: v.id, userId, readAt: (acks[i] as Ack).t, ackSeq: store.nextAckSeq() });
  }
  const inserted = new Set(store.insertReads(reads));
  const updates = new Map<string, ReadStateUpdate & { senderId: string }>();
  let r = 0;
  const results = verdicts.map((v, i): AckResult => {
    if (!('senderId' in v)) return v;
    const read = reads[r++] as ReadRecord;
    // The first ack of a message in the batch is the one inserted; later ones are duplicates.
    if (!inserted.delete(v.id)) return { m: v.id, s: 'duplicate' };
    const u = updates.get(v.id);
    if (u) {
      u.added += 1;
      u.lastReadAt = Math.max(u.lastReadAt, read.readAt);
      u.lastAckSeq = Math.max(u.lastAckSeq, read.ackSeq);
    } else updates.set(v.id, { messageId: v.id, senderId: v.senderId, added: 1, lastReadAt: read.readAt, lastAckSeq: read.ackSeq });
    return { m: (acks[i] as Ack).m, s: 'accepted' };
  });
  store.updateReadStates([...updates.values()]);
  return { results, changes: [...updates.values()].map((u) => ({ messageId: u.messageId, senderId: u.senderId })) };
}
