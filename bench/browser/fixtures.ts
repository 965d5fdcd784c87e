import type { Message, MessageReceipt } from '../../src/protocol';
import type { ReadState } from '../../src/bridge';
import type { MessageRow } from '../../worker/db/ReadSyncDb';

/** Deterministic message ids (8-32 chars of [A-Za-z0-9_-]) for bench run `tag`. */
export function messageIds(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}_${String(i).padStart(6, '0')}`);
}

/** The n messages marked by workload a: the middle of the database's `total`. */
export function markedIds(tag: string, n: number, total: number): string[] {
  const from = Math.floor((total - n) / 2);
  return messageIds(tag, total).slice(from, from + n);
}

/** Server-shaped messages from `senderId` in group `convId`, all asking for receipts. */
export function makeMessages(tag: string, n: number, convId: string, senderId: string, audienceCount = 1): Message[] {
  const base = 1_700_000_000_000;
  return messageIds(tag, n).map((id, i) => ({
    id,
    convId,
    convType: 'group' as const,
    senderId,
    text: `benchmark message number ${i}`,
    needReadReceipt: true,
    seq: i + 1,
    sentAt: base + i,
    audienceCount,
  }));
}

/**
 * The row a message becomes in `viewer`'s `messages` store (what the raw
 * ceiling writes): someone else's message carries `unread` (its position,
 * in the sparse `[convId+unread]` index behind unread counts) until read, as
 * `storeServerMessages` stores it.
 */
export function toRow(m: Message, viewer: string): MessageRow {
  const row: MessageRow = { ...m, createdAt: m.sentAt, status: 'sent', ackStatus: 'none', pos: m.seq };
  if (m.senderId !== viewer) row.unread = m.seq;
  return row;
}

/** A receipt update for one of my messages: one more reader. */
export function makeReceipt(m: Message, readCount: number, at: number): MessageReceipt {
  return {
    convId: m.convId,
    convType: m.convType,
    messageId: m.id,
    timestamp: at,
    isPeerRead: false,
    readCount,
    unreadCount: Math.max(0, m.audienceCount - readCount),
  };
}

/** The read state the UI would receive for that receipt (raw ceiling payload of workload c). */
export function makeReadState(m: Message, r: MessageReceipt): ReadState {
  return {
    messageId: m.id,
    convId: m.convId,
    convType: m.convType,
    direction: 'outgoing',
    needReadReceipt: true,
    status: 'sent',
    readCount: r.readCount,
    unreadCount: r.unreadCount,
    deliveredCount: r.deliveredCount ?? r.readCount,
    isPeerRead: r.isPeerRead,
    timestamp: r.timestamp,
    ackStatus: 'none',
    label: `${r.readCount} read · ${r.unreadCount} unread`,
  };
}
