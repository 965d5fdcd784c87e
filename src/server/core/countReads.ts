import type { DeliveryRange, DeliveryResult } from '../../protocol';
import type { DeliveryRecord, MemberSpan, MessageRef, ReadRecord, ReadStateUpdate, Store } from '../store/Store';
import { inAudience, type ReceiptChange } from './applyAcks';

/** Messages read per step while a range expands. */
const RANGE_PAGE = 1000;

/**
 * The messages of conversation `convId` in positions (after, upTo] that asked
 * for receipts, were sent by someone other than `userId` and had them in
 * their audience (`spans`), ascending: what a read position or a delivery
 * range covers. Index range reads of references, RANGE_PAGE at a time.
 */
export async function audienceRange(store: Store, convId: string, userId: string, spans: readonly MemberSpan[], after: number, upTo: number): Promise<MessageRef[]> {
  const out: MessageRef[] = [];
  while (after < upTo) {
    const page = await store.receiptMessagesInRange(convId, after, upTo, userId, RANGE_PAGE);
    for (const m of page) if (inAudience(spans, m.seq)) out.push(m);
    const last = page[page.length - 1];
    if (!last || page.length < RANGE_PAGE) break;
    after = last.seq;
  }
  return out;
}

/** A read that just went in, with its message's sender. */
export interface NewRead {
  read: ReadRecord;
  senderId: string;
}

/**
 * Counts reads that just went in (one reader's, at most one per message): a
 * public read adds to its message's `readCount` and implies its delivery
 * (issue 10.5), so the reader gets a delivery row where they had none and
 * `deliveredCount` moves with it, unless the reader's device had already said
 * it stored the message. A private read moves nothing its sender sees, not
 * even the delivery: that would tell the sender when it was read (its
 * delivery comes from the reader's device storing it, like anyone's). One
 * delivery insert and one counter update for the lot. Returns the receipt
 * states that moved.
 */
export async function countNewReads(store: Store, fresh: readonly NewRead[]): Promise<ReceiptChange[]> {
  const pub = fresh.some((f) => f.read.private) ? fresh.filter((f) => !f.read.private) : fresh;
  if (pub.length === 0) return [];
  const deliveries: DeliveryRecord[] = pub.map(({ read }) => ({ messageId: read.messageId, userId: read.userId, ackSeq: read.ackSeq }));
  const delivered = await store.insertDeliveries(deliveries);
  // Usually all went in (nothing delivered before: an older client, or a read right away) or
  // none (the worker's delivery came first); a set only when it is neither.
  const all = delivered.length === pub.length;
  const some = !all && delivered.length > 0 ? new Set(delivered) : null;
  const updates: ReadStateUpdate[] = new Array<ReadStateUpdate>(pub.length);
  const changes: ReceiptChange[] = new Array<ReceiptChange>(pub.length);
  for (let i = 0; i < pub.length; i++) {
    const { read, senderId } = pub[i] as NewRead;
    const d = all || (some !== null && some.has(read.messageId)) ? 1 : 0;
    updates[i] = { messageId: read.messageId, added: 1, delivered: d, lastReadAt: read.readAt, lastAckSeq: read.ackSeq };
    changes[i] = { messageId: read.messageId, senderId };
  }
  await store.updateReadStates(updates);
  return changes;
}

/** What applying delivery ranges did. */
export interface AppliedDeliveries {
  results: DeliveryResult[];
  /** Receipt states moved (to tell their senders). */
  changes: ReceiptChange[];
}

/**
 * Applies delivery ranges of `userId` (issue 10.5: "my device stored the
 * messages of conversation c in positions (f, s]") inside the caller's
 * transaction. Every message of the range that asked for receipts, was sent
 * by someone else and had the user in its audience counts as delivered to
 * them, once: a (message, user) delivery row is inserted unless one exists
 * (a read made one, or another device or batch said it first), and only new
 * rows move `deliveredCount`. Ranges may overlap, repeat and come in any
 * order. Costs: one index range read of the references of the messages in
 * the range that asked for receipts, one insert and one counter update per
 * message, so O(range), in pages of 1,000; a conversation's other members
 * are never read.
 */
export async function applyDeliveries(store: Store, userId: string, ranges: readonly DeliveryRange[]): Promise<AppliedDeliveries> {
  const results: DeliveryResult[] = [];
  const rows: DeliveryRecord[] = [];
  const senders: string[] = [];
  /** Index into `results` of each row's range. */
  const rangeOf: number[] = [];
  for (const d of ranges) {
    const conv = await store.getConversation(d.c);
    if (!conv) {
      results.push({ c: d.c, s: 'rejected', r: 'not-found' });
      continue;
    }
    const spans = await store.spansOf(d.c, userId);
    if (spans.length === 0) {
      results.push({ c: d.c, s: 'rejected', r: 'not-member' });
      continue;
    }
    const upTo = Math.min(d.s, conv.seq);
    const index = results.length;
    results.push({ c: d.c, s: 'accepted', n: 0 });
    for (const m of await audienceRange(store, d.c, userId, spans, d.f, upTo)) {
      rows.push({ messageId: m.id, userId, ackSeq: 0 });
      senders.push(m.senderId);
      rangeOf.push(index);
    }
  }
  if (rows.length === 0) return { results, changes: [] };
  // As for reads: numbers reserved as late as possible; a delivery already stored leaves a gap.
  const first = await store.reserveAckSeqs(rows.length);
  for (let r = 0; r < rows.length; r++) (rows[r] as DeliveryRecord).ackSeq = first + r;
  const inserted = await store.insertDeliveries(rows);
  // Overlapping ranges of one batch name a message twice: the first row is the one that can have gone in.
  const fresh = inserted.length === rows.length ? null : new Set(inserted);
  const updates: ReadStateUpdate[] = [];
  const changes: ReceiptChange[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as DeliveryRecord;
    if (fresh !== null && !fresh.delete(row.messageId)) continue;
    updates.push({ messageId: row.messageId, added: 0, delivered: 1, lastReadAt: 0, lastAckSeq: row.ackSeq });
    changes.push({ messageId: row.messageId, senderId: senders[r] as string });
    const result = results[rangeOf[r] as number] as DeliveryResult;
    result.n = (result.n ?? 0) + 1;
  }
  if (updates.length > 0) await store.updateReadStates(updates);
  return { results, changes };
}
