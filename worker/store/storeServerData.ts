import * as v from 'valibot';
import { ConversationSchema, MessageSchema, type Conversation, type Message } from '../../src/protocol';
import type { ConversationRow, MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow } from './readState';
import { bulkPutPrecise } from './storageErrors';
import { readMany } from './readMany';
import { withMyRead } from './readPositions';

/** The stored row of a message the server delivered and we had not seen. */
function newRow(m: Message, now: number, userId: string): MessageRow {
  const row: MessageRow = {
    id: m.id,
    convId: m.convId,
    convType: m.convType,
    senderId: m.senderId,
    text: m.text,
    needReadReceipt: m.needReadReceipt,
    createdAt: now,
    seq: m.seq,
    sentAt: m.sentAt,
    audienceCount: m.audienceCount,
    status: 'sent',
    ackStatus: 'none',
    pos: m.seq,
  };
  // Mine, from another device of mine: its receipts are mine to follow.
  if (m.senderId === userId && m.needReadReceipt) row.ownWithReceipts = 1;
  // Someone else's: unread until I read it (here, on another device, or by my read position).
  if (m.senderId !== userId) row.unread = m.seq;
  return row;
}

/**
 * Stores messages the server delivered (pull, event, or the app's own
 * channel). Monotonic: a message already stored as sent keeps its server
 * fields; one of mine still pending or failed here becomes sent with the
 * server's fields (the server's word wins: it holds the message). Local
 * fields (my read state and its ack) are never touched. Invalid entries, and
 * an id reused by another sender, are dropped. Returns the rows written.
 */
export async function storeServerMessages(db: ReadSyncDb, messages: readonly unknown[], now: number, userId: string): Promise<MessageRow[]> {
  const byId = new Map<string, Message>();
  for (const m of messages) if (v.is(MessageSchema, m)) byId.set(m.id, m);
  if (byId.size === 0) return [];
  const ids = [...byId.keys()];
  const convIds = [...new Set([...byId.values()].map((m) => m.convId))];
  return db.transaction('rw', [db.messages, db.conversations], async () => {
    const [olds, convRows] = await Promise.all([readMany(db.messages, ids), db.conversations.bulkGet(convIds)]);
    const convs = new Map(convIds.map((c, i) => [c, convRows[i]]));
    const puts: MessageRow[] = [];
    ids.forEach((id, i) => {
      const m = byId.get(id) as Message;
      const old = olds[i];
      if (old === undefined || !isMessageRow(old)) {
        // New, or a damaged row that the server's copy repairs. Read by me already if the server
        // says so (another device of mine) or my read position covers it.
        const row = newRow(m, now, userId);
        puts.push(row.unread === undefined ? row : withMyRead(row, m.readAt, convs.get(m.convId)));
        return;
      }
      if (old.senderId !== m.senderId || old.convId !== m.convId) return;
      if (old.status === 'sent' && old.seq !== null) {
        // Known here, read since on another device of mine: never acknowledged again from here.
        if (m.readAt !== undefined && old.readAt === undefined && old.senderId !== userId) puts.push(withMyRead(old, m.readAt, undefined));
        return;
      }
      const row: MessageRow = { ...old, convType: m.convType, seq: m.seq, sentAt: m.sentAt, audienceCount: m.audienceCount, status: 'sent', pos: m.seq };
      delete row.error;
      puts.push(row);
    });
    await bulkPutPrecise(db.messages, puts);
    return puts;
  });
}

/**
 * Stores conversations from the server, keeping how far each was pulled. A
 * snapshot older than the stored one (lower `seq`) is ignored.
 */
export async function upsertConversations(db: ReadSyncDb, conversations: readonly unknown[]): Promise<void> {
  const byId = new Map<string, Conversation>();
  for (const c of conversations) if (v.is(ConversationSchema, c)) byId.set(c.id, c);
  if (byId.size === 0) return;
  const ids = [...byId.keys()];
  await db.transaction('rw', db.conversations, async () => {
    const olds = await db.conversations.bulkGet(ids);
    const puts: ConversationRow[] = [];
    ids.forEach((id, i) => {
      const c = byId.get(id) as Conversation;
      const old = olds[i];
      const oldSeq = typeof old?.seq === 'number' ? old.seq : -1;
      if (c.seq < oldSeq) return;
      const pulledSeq = typeof old?.pulledSeq === 'number' ? old.pulledSeq : 0;
      const row: ConversationRow = { ...c, pulledSeq };
      if (old?.covered) row.covered = old.covered;
      if (old?.readSeq !== undefined) row.readSeq = old.readSeq;
      if (old?.readSeqAt !== undefined) row.readSeqAt = old.readSeqAt;
      puts.push(row);
    });
    if (puts.length > 0) await db.conversations.bulkPut(puts);
  });
}
