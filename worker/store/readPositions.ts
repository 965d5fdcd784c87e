import Dexie, { type Collection } from 'dexie';
import { ReadSyncError, ValidationError, type ReadPositionTuple } from '../../src/protocol';
import type { MarkConversationReadResult } from '../../src/bridge';
import { PENDING_POS_BASE, type ConversationRow, type MessageRow, type PositionOutboxRow, type ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow } from './readState';
import { readMany } from './readMany';
import { bulkPutPrecise } from './storageErrors';
import { loadReceiptMode } from './receiptMode';
import { POSITION_KEY_PREFIX, positionKey } from '../db/ackKeys';

/**
 * My read positions (issue 10): `markConversationRead` moves mine forward
 * locally at once and queues ONE outbox row per conversation; the server's
 * positions (pulls, `my-reads` events) and my own reads made on my other
 * devices are applied here too. Everything only moves forward.
 */

const PREFIX = POSITION_KEY_PREFIX;
export { positionKey };

/** Every queued read position (`p:` keys sort apart from acks and messages). */
export function queuedPositionRows(db: ReadSyncDb): Collection<PositionOutboxRow, string> {
  return db.outbox.where(':id').between(PREFIX, PREFIX + '\uffff', true, false) as unknown as Collection<PositionOutboxRow, string>;
}

/** Meta key of the cursor of my own reads (`myReadsAfter` of the next pull). */
export const META_MY_READS_CURSOR = 'myReadsCursor';

/** The stored `myReadsAfter` cursor, or null before the first pull that returned one. */
export async function loadMyReadsCursor(db: ReadSyncDb): Promise<number | null> {
  const row = await db.meta.get(META_MY_READS_CURSOR);
  return typeof row?.value === 'number' && Number.isSafeInteger(row.value) && row.value >= 0 ? row.value : null;
}

/** My read position in a stored conversation row (0: none). */
export function readSeqOf(row: Pick<ConversationRow, 'readSeq'> | undefined): number {
  const s = row?.readSeq;
  return typeof s === 'number' && Number.isSafeInteger(s) && s > 0 ? s : 0;
}

/**
 * A message row read by me at `readAt`: out of the unread index. `acked`: the
 * server has my read (it came from there), so a message that asked for a
 * receipt shows its ack 'sent'. Read by a position of mine still to be sent:
 * its ack is 'pending' and travels in that position (`ackByPosition`), so it
 * shows 'sent' once the conversation's position row has left the outbox.
 */
function asRead(row: MessageRow, readAt: number, acked: boolean): MessageRow {
  const next: MessageRow = { ...row, readAt };
  delete next.unread;
  if (next.needReadReceipt && next.ackStatus === 'none') {
    if (acked) next.ackStatus = 'sent';
    else {
      next.ackStatus = 'pending';
      next.ackByPosition = 1;
    }
  }
  return next;
}

/**
 * Marks the stored messages from others in `(lo, hi]` that I had not read as
 * read at `readAt`: one range of the sparse unread index, so a conversation
 * mostly read costs what is unread in it, not its length. Messages read by a
 * position keep their per-message `ackStatus`: the position itself carries
 * the read to the server. Call inside a rw transaction over messages.
 */
async function readRange(db: ReadSyncDb, convId: string, lo: number, hi: number, readAt: number): Promise<MessageRow[]> {
  if (!(hi > lo)) return [];
  const rows = await db.messages.where('[convId+unread]').between([convId, lo], [convId, hi], false, true).toArray();
  const puts = rows.filter(isMessageRow).map((r) => asRead(r, readAt, false));
  await bulkPutPrecise(db.messages, puts);
  return puts;
}

/**
 * The durable half of `markConversationRead`: in ONE transaction, moves my
 * read position in `convId` to `upTo`'s seq (default: the newest stored sent
 * message), marks the stored unread messages in between read, and keeps ONE
 * outbox row for the conversation holding the highest position, private when
 * my receipt mode is private or the row it replaces was (see
 * PositionOutboxRow.private). A position at or below mine changes nothing. Throws `not-found` for a conversation or
 * message not stored here, `invalid-argument` for a message of another
 * conversation or one not sent yet.
 */
export async function enqueueConversationRead(
  db: ReadSyncDb,
  convId: string,
  upTo: string | undefined,
  readAt: number,
): Promise<{ result: MarkConversationReadResult; rows: MessageRow[]; queued: boolean }> {
  return db.transaction('rw', [db.conversations, db.messages, db.outbox, db.meta], async () => {
    const conv = await db.conversations.get(convId);
    if (!conv) throw new ReadSyncError('not-found', `markConversationRead: conversation ${convId} is not stored here`);
    let target = 0;
    if (upTo !== undefined) {
      const m = await db.messages.get(upTo);
      if (!m || !isMessageRow(m)) throw new ReadSyncError('not-found', `markConversationRead: message ${upTo} is not stored here`);
      if (m.convId !== convId) throw new ValidationError(`markConversationRead: message ${upTo} is not in conversation ${convId}`);
      if (m.seq === null) throw new ValidationError(`markConversationRead: message ${upTo} is not sent yet`);
      target = m.seq;
    } else {
      const last = await db.messages.where('[convId+pos]').between([convId, Dexie.minKey], [convId, PENDING_POS_BASE], true, false).last();
      target = last && isMessageRow(last) && last.seq !== null ? last.seq : 0;
    }
    const old = readSeqOf(conv);
    if (target <= old) return { result: { convId, position: old, markedRead: 0 }, rows: [], queued: false };
    await db.conversations.put({ ...conv, readSeq: target, readSeqAt: readAt });
    const rows = await readRange(db, convId, old, target, readAt);
    const key = positionKey(convId);
    const [queued, mode] = await Promise.all([db.outbox.get(key) as Promise<PositionOutboxRow | undefined>, loadReceiptMode(db)]);
    const row: PositionOutboxRow = { key, kind: 'position', convId, seq: target, readAt };
    // One row per conversation: private if this read or the queued one is. The other way a merge would
    // tell senders of reads made while private; this way it may only hide reads made while public.
    if (mode === 'private' || queued?.private === 1) row.private = 1;
    if (!queued || queued.seq < target) await db.outbox.put(row);
    return { result: { convId, position: target, markedRead: rows.length }, rows, queued: true };
  });
}

/**
 * Applies read positions from the server (`[convId, seq, readAt]`: pulls,
 * `my-reads` events, ack answers): each moves mine forward only and marks the
 * stored unread messages up to it read. Conversations not stored are skipped
 * (their pull brings the position again). Returns the message rows written.
 */
export async function applyReadPositions(db: ReadSyncDb, positions: readonly ReadPositionTuple[]): Promise<MessageRow[]> {
  const best = new Map<string, [number, number]>();
  for (const [c, s, t] of positions) if (s > (best.get(c)?.[0] ?? 0)) best.set(c, [s, t]);
  if (best.size === 0) return [];
  const ids = [...best.keys()];
  return db.transaction('rw', [db.conversations, db.messages], async () => {
    const convs = await db.conversations.bulkGet(ids);
    const written: MessageRow[] = [];
    const puts: ConversationRow[] = [];
    for (let i = 0; i < ids.length; i++) {
      const conv = convs[i];
      const [seq, at] = best.get(ids[i] as string) as [number, number];
      const old = readSeqOf(conv);
      if (!conv || seq <= old) continue;
      puts.push({ ...conv, readSeq: seq, readSeqAt: at });
      written.push(...(await readRange(db, conv.id, old, seq, at)));
    }
    if (puts.length > 0) await db.conversations.bulkPut(puts);
    return written;
  });
}

/**
 * Applies my own reads made on any of my devices (`[messageId, readAt]`):
 * each stored message from someone else I had not read here becomes read,
 * its receipt already on the server (so this device never acknowledges it
 * again). With `cursor` (a pull's `myReads`), the cursor moves forward in the
 * same transaction. Returns the message rows written.
 */
export async function applyMyReads(db: ReadSyncDb, reads: readonly (readonly [string, number])[], userId: string, cursor?: number): Promise<MessageRow[]> {
  const byId = new Map<string, number>();
  for (const [m, t] of reads) if (!byId.has(m)) byId.set(m, t);
  if (byId.size === 0 && cursor === undefined) return [];
  const ids = [...byId.keys()];
  const unread = (row: unknown): boolean => row !== undefined && isMessageRow(row) && row.senderId !== userId && row.readAt === undefined;
  if (cursor === undefined) {
    // The device that made the reads hears of them too (the server cannot tell its devices apart):
    // look in a read-only transaction first, so its own echo never takes the messages store's
    // write lock from the flush that is applying the answers (10,000 acks: 20 such events).
    const seen = await db.transaction('r', [db.messages], () => readMany(db.messages, ids));
    if (!seen.some(unread)) return [];
  }
  return db.transaction('rw', [db.messages, db.meta], async () => {
    const rows = await readMany(db.messages, ids);
    const puts: MessageRow[] = [];
    rows.forEach((row, i) => {
      if (!unread(row)) return;
      puts.push(asRead(row as MessageRow, byId.get(ids[i] as string) as number, true));
    });
    await bulkPutPrecise(db.messages, puts);
    if (cursor !== undefined) {
      const stored = await loadMyReadsCursor(db);
      if (stored === null || stored < cursor) await db.meta.put({ key: META_MY_READS_CURSOR, value: cursor });
    }
    return puts;
  });
}

/** A message row from the server, read by me as it says (`readAt`), or by my read position. */
export function withMyRead(row: MessageRow, serverReadAt: number | undefined, conv: Pick<ConversationRow, 'readSeq' | 'readSeqAt'> | undefined): MessageRow {
  if (serverReadAt !== undefined) return asRead(row, serverReadAt, true);
  const pos = readSeqOf(conv);
  if (row.seq !== null && row.seq <= pos) return asRead(row, typeof conv?.readSeqAt === 'number' ? conv.readSeqAt : 0, false);
  return row;
}
