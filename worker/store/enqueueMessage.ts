import Dexie from 'dexie';
import { ReceiptRuleError } from '../../src/protocol';
import type { ConvType, OutgoingMessage } from '../../src/protocol';
import { PENDING_POS_BASE, type MessageRow, type ReadSyncDb, type SendOutboxRow } from '../db/ReadSyncDb';

/** The outbox key of a message I send: one per message. */
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
  return [row, { key: messageKey(out.id), kind: 'message', messageId: out.id, convId: out.convId, enqueuedAt, message: out, attempts: 0 }];
}

/**
 * The durable half of sendMessage: stores the rows of `sendNow` in ONE
 * read-write transaction. A reused id is refused with code `conflict`.
 */
export async function enqueueMessage(db: ReadSyncDb, convType: ConvType, out: OutgoingMessage, userId: string): Promise<MessageRow> {
  return db.transaction('rw', [db.messages, db.outbox], async () => {
    if ((await db.messages.get(out.id)) !== undefined) {
      throw new ReceiptRuleError('conflict', `sendMessage: a message with id ${out.id} already exists`);
    }
    // Send order across tabs: after every message already queued (by any worker on this database),
    // even when two tabs send within the same millisecond or their clocks disagree.
    const last = (await db.outbox.where('[kind+enqueuedAt]').between(['message', Dexie.minKey], ['message', Dexie.maxKey]).last()) as SendOutboxRow | undefined;
    const [row, queued] = sendNow(out, convType, userId, Math.max(out.createdAt, (last?.enqueuedAt ?? 0) + 1));
    await db.messages.add(row);
    await db.outbox.put(queued);
    return row;
  });
}
