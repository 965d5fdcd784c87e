import type { Ack, AckResult } from '../../protocol';
import type { MemberSpan, ReadRecord, Store } from '../store/Store';
import { countNewReads, type NewRead } from './countReads';
import type { MessageMetaCache } from './MessageMetaCache';

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
export async function applyAcks(store: Store, userId: string, acks: readonly Ack[], metas: MessageMetaCache): Promise<{ results: AckResult[]; changes: ReceiptChange[] }> {
  // A batch costs a fixed number of statements whatever its size: its messages' metadata
  // (cached), the reader's spans once per conversation, one reservation of ack sequence
  // numbers, one multi-row insert of the reads that skips those already stored, and one
  // relative update of the counters.
  const messages = await metas.get(store, acks.map((a) => a.m));
  const spans = new Map<string, MemberSpan[]>();
  const results: AckResult[] = new Array<AckResult>(acks.length);
  // The reads to insert, with the index of their ack and their message's sender.
  const reads: ReadRecord[] = [];
  const readAck: number[] = [];
  const senders: string[] = [];
  // The reader's spans in every conversation of the batch, read at once (one round trip each, in parallel).
  for (const m of messages) if (m && !spans.has(m.convId)) spans.set(m.convId, []);
  await Promise.all([...spans.keys()].map(async (convId) => spans.set(convId, await store.spansOf(convId, userId))));
  for (let i = 0; i < acks.length; i++) {
    const ack = acks[i] as Ack;
    const msg = messages[i];
    if (!msg) {
      results[i] = { m: ack.m, s: 'rejected', r: 'not-found' };
      continue;
    }
    if (msg.senderId === userId) {
      results[i] = { m: ack.m, s: 'rejected', r: 'own-message' };
      continue;
    }
    const mine = spans.get(msg.convId) ?? [];
    // In the audience = member at send time (even if left since: queued reads still count).
    if (!inAudience(mine, msg.seq)) {
      results[i] = { m: ack.m, s: 'rejected', r: mine.some((s) => s.leftSeq === null) ? 'not-in-audience' : 'not-member' };
      continue;
    }
    if (!msg.needReadReceipt) {
      results[i] = { m: ack.m, s: 'rejected', r: 'receipt-not-requested' };
      continue;
    }
    reads.push(ack.p === 1 ? { messageId: msg.id, userId, readAt: ack.t, ackSeq: 0, private: true } : { messageId: msg.id, userId, readAt: ack.t, ackSeq: 0 });
    readAck.push(i);
    senders.push(msg.senderId);
  }
  if (reads.length === 0) return { results, changes: [] };
  // Sequence numbers are handed out before the insert, as late in the transaction as they can
  // be (a store with concurrent writers holds the sequence from here to the commit); a
  // duplicate leaves a gap, which cursors tolerate (they only need to grow). A store that can
  // (PostgreSQL) reserves, inserts and counts in one round trip.
  let inserted: string[];
  if (store.insertCountedReads) inserted = await store.insertCountedReads(reads, senders);
  else {
    const first = await store.reserveAckSeqs(reads.length);
    for (let r = 0; r < reads.length; r++) (reads[r] as ReadRecord).ackSeq = first + r;
    inserted = await store.insertReads(reads);
  }
  const fresh: NewRead[] = [];
  if (inserted.length === reads.length) {
    // Every read went in (the usual case), so no message came twice.
    for (let r = 0; r < reads.length; r++) {
      const read = reads[r] as ReadRecord;
      results[readAck[r] as number] = { m: read.messageId, s: 'accepted' };
      fresh.push({ read, senderId: senders[r] as string });
    }
  } else {
    // The first read of a message in the batch is the one that may have gone in; later ones
    // (and any already stored) are duplicates. One reader per batch, so one row per message.
    const ins = new Set(inserted);
    for (let r = 0; r < reads.length; r++) {
      const read = reads[r] as ReadRecord;
      if (!ins.delete(read.messageId)) {
        results[readAck[r] as number] = { m: read.messageId, s: 'duplicate' };
        continue;
      }
      results[readAck[r] as number] = { m: read.messageId, s: 'accepted' };
      fresh.push({ read, senderId: senders[r] as string });
    }
  }
  // Counters (and the deliveries the reads imply) move in one update; a private read is stored
  // for the reader's devices and its sender never learns of it.
  const changes = store.insertCountedReads ? countedChanges(fresh) : await countNewReads(store, fresh);
  return { results, changes };
}

/** The receipt states that reads counted by `insertCountedReads` moved: those of the public ones. */
function countedChanges(fresh: readonly NewRead[]): ReceiptChange[] {
  const changes: ReceiptChange[] = [];
  for (const f of fresh) if (!f.read.private) changes.push({ messageId: f.read.messageId, senderId: f.senderId });
  return changes;
}

/** Whether a member with these spans was in the audience of the message at position `seq`. */
export function inAudience(spans: readonly MemberSpan[], seq: number): boolean {
  for (const s of spans) if (s.joinedSeq < seq && (s.leftSeq === null || seq < s.leftSeq)) return true;
  return false;
}
