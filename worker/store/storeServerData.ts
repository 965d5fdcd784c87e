import * as v from 'valibot';
import { ConversationSchema, MessageSchema, type Conversation, type Message } from '../../src/protocol';
import type { ConversationRow, MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow } from './readState';
import { bulkPutPrecise } from './storageErrors';
import { readMany } from './readMany';
import { withMyRead } from './readPositions';
import { deliveryAnnounced, deliveryRangesOf, queueDeliveries } from './deliveries';

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

/** What `storeServerMessages` wrote. */
export interface StoredMessages {
  /** The message rows written. */
  rows: MessageRow[];
  /** A delivery range was queued (the flusher has something to send). */
  deliveryQueued: boolean;
}

/** Options of `storeServerMessages`. */
export interface StoreMessagesOptions {
  /**
   * The messages of each conversation are a complete run of its positions (a
   * pull or history page, a `messages` event), so one delivery range per
   * conversation is exact. Default false: one range per message.
   */
  contiguous?: boolean;
}

/**
 * Stores messages the server delivered (pull, event, or the app's own
 * channel). Monotonic: a message already stored as sent keeps its server
 * fields; one of mine still pending or failed here becomes sent with the
 * server's fields (the server's word wins: it holds the message). Local
 * fields (my read state and its ack) are never touched. Invalid entries, and
 * an id reused by another sender, are dropped.
 *
 * In the same transaction, when the server announces `delivery`, the
 * positions of the messages stored here for the first time that came from
 * someone else and asked for receipts are queued as delivery ranges
 * (store/deliveries.ts): one outbox write per conversation, none per message.
 */
export async function storeServerMessages(db: ReadSyncDb, messages: readonly unknown[], now: number, userId: string, options: StoreMessagesOptions = {}): Promise<StoredMessages> {
  const byId = new Map<string, Message>();
  let valid = 0;
  for (const m of messages) {
    if (!v.is(MessageSchema, m)) continue;
    byId.set(m.id, m);
    valid++;
  }
  if (byId.size === 0) return { rows: [], deliveryQueued: false };
  const ids = [...byId.keys()];
  const convIds = [...new Set([...byId.values()].map((m) => m.convId))];
  // A run with an entry dropped as invalid is no longer known complete.
  const contiguous = options.contiguous === true && valid === messages.length;
  // Known before reading anything: whether any message could be a delivery to tell.
  const maybeDelivered = [...byId.values()].some((m) => m.senderId !== userId && m.needReadReceipt);
  return db.transaction('rw', [db.messages, db.conversations, db.outbox, db.meta], async () => {
    const [olds, convRows, announced] = await Promise.all([
      readMany(db.messages, ids),
      db.conversations.bulkGet(convIds),
      maybeDelivered ? deliveryAnnounced(db) : false,
    ]);
    const convs = new Map(convIds.map((c, i) => [c, convRows[i]]));
    const puts: MessageRow[] = [];
    const delivered: Message[] = [];
    ids.forEach((id, i) => {
      const m = byId.get(id) as Message;
      const old = olds[i];
      if (old === undefined || !isMessageRow(old)) {
        // New, or a damaged row that the server's copy repairs. Read by me already if the server
        // says so (another device of mine) or my read position covers it.
        const row = newRow(m, now, userId);
        puts.push(row.unread === undefined ? row : withMyRead(row, m.readAt, convs.get(m.convId)));
        // Stored here for the first time: a delivery (a read counts as one too, but a private read
        // does not tell the sender, and the server counts each (message, me) once anyway).
        if (announced && m.senderId !== userId && m.needReadReceipt) delivered.push(m);
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
    const [, deliveryQueued] = await Promise.all([bulkPutPrecise(db.messages, puts), queueDeliveries(db, deliveryRangesOf(delivered, contiguous))]);
    return { rows: puts, deliveryQueued };
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
