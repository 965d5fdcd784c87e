import type { MessageReceipt } from '../../src/protocol';
import type { AckStatus, LocalMessage, ReadState } from '../../src/bridge';
import type { MessageRow, ReceiptRow } from '../db/ReadSyncDb';
import { ackKey, positionKey } from '../db/ackKeys';

const SEND_STATUSES = new Set(['pending', 'sent', 'failed']);
const ACK_STATUSES = new Set(['none', 'pending', 'sent', 'rejected']);
const CONV_TYPES = new Set(['c2c', 'group']);

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumOrNull = (x: unknown): boolean => x === null || isNum(x);

/**
 * Whether a row read from IndexedDB has the shape of a message. Rows can be
 * damaged by other code or older versions; subscriptions skip or report such
 * rows instead of crashing on them. Hand-written because it runs for every row
 * of every recomputation: a schema parse per row would be the hot path.
 */
export function isMessageRow(x: unknown): x is MessageRow {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  return (
    typeof m.id === 'string' &&
    typeof m.convId === 'string' &&
    typeof m.senderId === 'string' &&
    typeof m.text === 'string' &&
    typeof m.needReadReceipt === 'boolean' &&
    CONV_TYPES.has(m.convType as string) &&
    SEND_STATUSES.has(m.status as string) &&
    ACK_STATUSES.has(m.ackStatus as string) &&
    isNum(m.createdAt) &&
    isNum(m.pos) &&
    isNumOrNull(m.seq) &&
    isNumOrNull(m.sentAt) &&
    isNumOrNull(m.audienceCount) &&
    (m.readAt === undefined || isNum(m.readAt)) &&
    (m.ackSeq === undefined || isNum(m.ackSeq))
  );
}

/**
 * The outbox key to look up to tell whether my ack of this message is still
 * queued, or null when the stored status says it all (see MessageRow).
 */
export function queuedAckKey(m: MessageRow): string | null {
  if (m.ackStatus !== 'pending') return null;
  // Read by a read position of mine: queued while the conversation's position row is.
  if (m.ackByPosition === 1) return positionKey(m.convId);
  return m.ackSeq !== undefined && Number.isSafeInteger(m.ackSeq) && m.ackSeq > 0 ? ackKey(m.ackSeq) : null;
}

/**
 * The ack status to show: a stored 'pending' is 'sent' once the ack's outbox
 * row is gone (`queued === false`); unknown (`undefined`) keeps 'pending'.
 */
export function effectiveAckStatus(m: MessageRow, queued: boolean | undefined): AckStatus {
  return m.ackStatus === 'pending' && queued === false ? 'sent' : m.ackStatus;
}

/** Whether a row read from IndexedDB has the shape of a receipt. */
export function isReceiptRow(x: unknown): x is ReceiptRow {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r.messageId === 'string' &&
    typeof r.convId === 'string' &&
    CONV_TYPES.has(r.convType as string) &&
    typeof r.isPeerRead === 'boolean' &&
    isNum(r.readCount) &&
    isNum(r.unreadCount) &&
    isNum(r.timestamp) &&
    // Rows stored before deliveries (issue 10.5) have none.
    (r.deliveredCount === undefined || isNum(r.deliveredCount))
  );
}

/**
 * Members the message has reached (issue 10.5): `deliveredCount`, never below
 * `readCount` (a read implies delivery); absent (older servers, rows stored
 * before it existed), `readCount`.
 */
export function deliveredOf(r: Pick<MessageReceipt, 'readCount' | 'deliveredCount'>): number {
  const d = r.deliveredCount;
  return typeof d === 'number' && d > r.readCount ? d : r.readCount;
}

/** The receipt state of a sent message of mine that nobody has read yet (before the server told us anything). */
export function initialReceipt(m: MessageRow): MessageReceipt {
  return {
    convId: m.convId,
    convType: m.convType,
    messageId: m.id,
    timestamp: 0,
    isPeerRead: false,
    readCount: 0,
    unreadCount: m.audienceCount ?? 0,
    deliveredCount: 0,
  };
}

/** Whether a receipt can still change: c2c until the peer read it, groups until nobody is left unread. */
export function isFinalReceipt(r: MessageReceipt | undefined): boolean {
  if (!r) return false;
  return r.isPeerRead || (r.convType === 'group' && r.unreadCount === 0);
}

function outgoingLabel(m: MessageRow, r: MessageReceipt): string {
  if (m.status === 'pending') return 'Sending…';
  if (m.status === 'failed') return `Failed: ${m.error?.message ?? m.error?.code ?? 'unknown error'}`;
  if (!m.needReadReceipt) return 'Sent';
  if (m.convType === 'c2c') return r.isPeerRead ? 'Read' : deliveredOf(r) > 0 ? 'Delivered' : 'Sent';
  return `${r.readCount} read · ${r.unreadCount} unread`;
}

/**
 * The read state the UI renders for one message. Outgoing: send status and
 * receipt counts (the stored receipt, or "nobody yet" before the first one);
 * incoming: my own acknowledgement's state, with an empty label. `queued`:
 * whether my ack's outbox row still exists (see `effectiveAckStatus`).
 */
export function toReadState(m: MessageRow, receipt: ReceiptRow | undefined, userId: string, queued?: boolean): ReadState {
  const outgoing = m.senderId === userId;
  // Receipt counts are the sender's; an incoming message shows my own read instead.
  const r = outgoing ? (receipt ?? initialReceipt(m)) : undefined;
  // One object literal, no spreads: a receipt burst builds 10,000 of these.
  const state: ReadState = {
    messageId: m.id,
    convId: m.convId,
    convType: m.convType,
    needReadReceipt: m.needReadReceipt,
    status: m.status,
    ackStatus: effectiveAckStatus(m, queued),
    direction: outgoing ? 'outgoing' : 'incoming',
    readCount: r ? r.readCount : 0,
    unreadCount: r ? r.unreadCount : 0,
    deliveredCount: r ? deliveredOf(r) : 0,
    isPeerRead: r ? r.isPeerRead : false,
    timestamp: r ? r.timestamp : (m.readAt ?? 0),
    label: r ? outgoingLabel(m, r) : '',
  };
  if (outgoing && m.error) state.error = m.error;
  if (!outgoing && m.ackError) state.ackError = m.ackError;
  return state;
}

/** Field-wise equality of two read states (errors compared by code and message). */
export function readStateEquals(a: ReadState | null, b: ReadState | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.messageId === b.messageId &&
    a.label === b.label &&
    a.status === b.status &&
    a.ackStatus === b.ackStatus &&
    a.readCount === b.readCount &&
    a.unreadCount === b.unreadCount &&
    a.deliveredCount === b.deliveredCount &&
    a.isPeerRead === b.isPeerRead &&
    a.timestamp === b.timestamp &&
    a.needReadReceipt === b.needReadReceipt &&
    a.direction === b.direction &&
    a.convId === b.convId &&
    a.error?.code === b.error?.code &&
    a.error?.message === b.error?.message &&
    a.ackError?.code === b.ackError?.code &&
    a.ackError?.message === b.ackError?.message
  );
}

/** A stored message row without its storage-only fields; `queued` as for `toReadState`. */
export function toLocalMessage(row: MessageRow, queued?: boolean): LocalMessage {
  const { pos: _pos, ackSeq: _ackSeq, ownWithReceipts: _own, ...rest } = row;
  rest.ackStatus = effectiveAckStatus(row, queued);
  return rest;
}
