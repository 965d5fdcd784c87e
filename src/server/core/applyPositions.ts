import type { PositionResult, ReadPosition, ReadPositionTuple } from '../../protocol';
import type { ReadRecord, Store } from '../store/Store';
import { audienceRange, countNewReads, type NewRead } from './countReads';
import type { ReceiptChange } from './applyAcks';

/** What applying read positions did. */
export interface AppliedPositions {
  results: PositionResult[];
  /** Receipt states moved by the reads the positions implied (to tell their senders). */
  changes: ReceiptChange[];
  /** The positions that moved, as the user's other devices are told. */
  moved: ReadPositionTuple[];
}

/**
 * Applies read positions of `userId` ("read up to here", `markConversationRead`)
 * inside the caller's transaction. A position only moves forward: one at or
 * below the stored one is `duplicate`. Moving it from `old` to `upTo` reads,
 * once each and at the position's time, every message of the range that
 * asked for receipts, was sent by someone else and had the user in its
 * audience (the Matrix rule: a read position implies the messages before it);
 * messages the user had already read keep their first read. Costs: one
 * index range read of the references of the messages in (old, upTo] that
 * asked for receipts, one insert and one counter update per message read,
 * so O(range), in pages of 1,000.
 */
export async function applyPositions(store: Store, userId: string, positions: readonly ReadPosition[]): Promise<AppliedPositions> {
  const results: PositionResult[] = [];
  const moved: ReadPositionTuple[] = [];
  const reads: ReadRecord[] = [];
  const senders: string[] = [];
  for (const p of positions) {
    const conv = await store.getConversation(p.c);
    if (!conv) {
      results.push({ c: p.c, s: 'rejected', r: 'not-found' });
      continue;
    }
    const spans = await store.spansOf(p.c, userId);
    if (spans.length === 0) {
      results.push({ c: p.c, s: 'rejected', r: 'not-member' });
      continue;
    }
    // Never past the conversation's end, nor past the user's membership (a member who left
    // reads up to their leave at most).
    const end = spans.some((s) => s.leftSeq === null) ? conv.seq : Math.max(...spans.map((s) => (s.leftSeq ?? 1) - 1));
    const upTo = Math.min(p.s, end);
    const old = (await store.getReadPosition(p.c, userId))?.seq ?? 0;
    if (upTo <= old) {
      results.push({ c: p.c, s: 'duplicate', u: old });
      continue;
    }
    for (const m of await audienceRange(store, p.c, userId, spans, old, upTo)) {
      reads.push(p.p === 1 ? { messageId: m.id, userId, readAt: p.t, ackSeq: 0, private: true } : { messageId: m.id, userId, readAt: p.t, ackSeq: 0 });
      senders.push(m.senderId);
    }
    await store.putReadPosition({ convId: p.c, userId, seq: upTo, readAt: p.t });
    results.push({ c: p.c, s: 'accepted', u: upTo });
    moved.push([p.c, upTo, p.t]);
    // A private position's reads stay private; the position itself is only ever shown to its user.
  }
  if (reads.length === 0) return { results, changes: [], moved };
  // As for acks: numbers reserved as late as possible; a message already read leaves a gap.
  const first = await store.reserveAckSeqs(reads.length);
  for (let r = 0; r < reads.length; r++) (reads[r] as ReadRecord).ackSeq = first + r;
  const ins = new Set(await store.insertReads(reads));
  const fresh: NewRead[] = [];
  for (let r = 0; r < reads.length; r++) {
    const read = reads[r] as ReadRecord;
    if (ins.delete(read.messageId)) fresh.push({ read, senderId: senders[r] as string });
  }
  const changes = await countNewReads(store, fresh);
  return { results, changes, moved };
}
