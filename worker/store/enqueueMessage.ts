import Dexie from 'dexie';
import { ReadSyncError, ReceiptRuleError } from '../../src/protocol';
import type { Conversation, ConvType, OutgoingMessage } from '../../src/protocol';
import { PENDING_POS_BASE, type MessageRow, type ReadSyncDb, type SendOutboxRow } from '../db/ReadSyncDb';
import { readMany } from './readMany';

/** Digits of the send order in a message's outbox key (Number.MAX_SAFE_INTEGER has 16). */
const ORDER_DIGITS = 16;

/**
 * The outbox key of a message I send: `msg:` + its send order, zero-padded,
 * + `:` + its id. Key order is send order (like ack keys), so the rows of a
 * confirmed batch are consecutive keys and leave the outbox with one range
 * delete instead of a request per message; and a key names one enqueue of one
 * message. (`msg:` keys sort after every `a:` and `d:` key and before `p:`
 * and `s:`, so they stay one key range of their own.)
 */
export const sendKey = (enqueuedAt: number, messageId: string): string => `msg:${String(enqueuedAt).padStart(ORDER_DIGITS, '0')}:${messageId}`;

/**
 * The outbox key of a message as queued before keys carried the send order
 * (`msg:<id>`). Such rows are still sent and applied (one request per row).
 */
export const messageKey = (messageId: string): string => `msg:${messageId}`;

/**
 * What sending a message writes: the message row, pending (ordered after every
 * sent message of its conversation), and its outbox row with send order `enqueuedAt`.
 */
export function sendNow(out: OutgoingMessage, convType: ConvType, userId: string, enqueuedAt: number): [MessageRow, SendOutboxRow] {
  const row: MessageRow = {
    id: out.id,
    convId: out.convId,
    convType,
    senderId: userId,
    text: out.text,
    needReadReceipt: out.needReadReceipt,
    createdAt: out.createdAt,
    seq: null,
    sentAt: null,
    audienceCount: null,
    status: 'pending',
    ackStatus: 'none',
    pos: PENDING_POS_BASE + out.createdAt,
  };
  if (out.needReadReceipt) row.ownWithReceipts = 1;
  return [row, { key: sendKey(enqueuedAt, out.id), kind: 'message', messageId: out.id, convId: out.convId, enqueuedAt, message: out, attempts: 0 }];
}

/** One message of a send call, with the type the caller gave (for a conversation not synced yet). */
export interface SendItem {
  out: OutgoingMessage;
  convType?: ConvType;
  /**
   * The id was generated here (`newMessageId`: 16 random base62 chars), so it
   * is not looked up: at 95 random bits no stored id can equal it. The row is
   * added, never put, so even then nothing stored would be overwritten (the
   * transaction would fail instead).
   */
  generatedId?: boolean;
}

/**
 * Judges one message against its conversation as stored (undefined: not
 * synced yet) and returns the type to store; throws a `ReadSyncError` to
 * refuse the call it belongs to.
 */
export type SendCheck = (item: SendItem, conv: Conversation | undefined) => ConvType;

/** The outcome of one call: its rows, or why none of it was stored. */
export type SendOutcome = { rows: MessageRow[] } | { error: ReadSyncError };

/**
 * The durable half of sendMessage(s), for several calls at once (group
 * commit): ONE read-write transaction reads the conversations, the ids and
 * the last send order, then stores each call's rows (`sendNow`) or none of
 * them: a call whose check fails, or that reuses an id (stored, or earlier
 * in the group, or twice in itself: code `conflict`), is refused alone.
 * Send order continues after every message already queued by any worker on
 * this database, so per-conversation order holds across tabs even when their
 * clocks disagree.
 */
export async function enqueueMessages(db: ReadSyncDb, calls: readonly SendItem[][], userId: string, check: SendCheck): Promise<SendOutcome[]> {
  const items = calls.flat();
  const convIds = [...new Set(items.map((i) => i.out.convId))];
  return db.transaction('rw', [db.messages, db.outbox, db.conversations], async () => {
    const given = items.filter((i) => !i.generatedId).map((i) => i.out.id);
    const [convs, existing, last] = await Promise.all([
      db.conversations.bulkGet(convIds),
      given.length > 0 ? readMany(db.messages, given) : [],
      db.outbox.where('[kind+enqueuedAt]').between(['message', Dexie.minKey], ['message', Dexie.maxKey]).last() as Promise<SendOutboxRow | undefined>,
    ]);
    // Maps: conversation and message ids may be any name, `__proto__` included.
    const convById = new Map<string, Conversation | undefined>(convIds.map((id, i) => [id, convs[i]]));
    const taken = new Set<string>();
    given.forEach((id, i) => {
      if (existing[i] !== undefined) taken.add(id);
    });
    let order = last?.enqueuedAt ?? 0;
    const rows: MessageRow[] = [];
    const queued: SendOutboxRow[] = [];
    const outcomes = calls.map((call): SendOutcome => {
      try {
        const types = call.map((item) => check(item, convById.get(item.out.convId)));
        const ids = new Set<string>();
        for (const { out } of call) {
          if (taken.has(out.id) || ids.has(out.id)) throw new ReceiptRuleError('conflict', `sendMessage: a message with id ${out.id} already exists`);
          ids.add(out.id);
        }
        const mine = call.map((item, i) => {
          order = Math.max(item.out.createdAt, order + 1);
          return sendNow(item.out, types[i] as ConvType, userId, order);
        });
        for (const id of ids) taken.add(id);
        for (const [row, q] of mine) {
          rows.push(row);
          queued.push(q);
        }
        return { rows: mine.map(([row]) => row) };
      } catch (err) {
        if (err instanceof ReadSyncError) return { error: err };
        throw err;
      }
    });
    if (rows.length > 0) {
      await db.messages.bulkAdd(rows);
      await db.outbox.bulkPut(queued);
    }
    return outcomes;
  });
}
