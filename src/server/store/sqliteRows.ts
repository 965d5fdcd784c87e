import type { AckBatchResponse, AckResult, ConvType, GroupType } from '../../protocol';
import type { ConversationRecord, MemberSpan, MessageRecord, ReadPositionRecord, ReadRecord } from './Store';

// Row shapes of the SQLite schema (sqliteSchema.ts) and their mapping to store records.

export interface ConvRow {
  id: string;
  type: ConvType;
  group_type: GroupType | null;
  name: string;
  user_a: string | null;
  user_b: string | null;
  seq: number;
  member_count: number;
  created_at: number;
}
export interface MsgRow {
  id: string;
  conv_id: string;
  conv_type: ConvType;
  sender_id: string;
  text: string;
  need_receipt: number;
  seq: number;
  sent_at: number;
  audience_count: number;
  read_count: number;
  /** Schema version 4. */
  delivered_count: number;
  last_read_at: number;
  last_ack_seq: number;
}
export interface SpanRow {
  conv_id: string;
  user_id: string;
  joined_seq: number;
  left_seq: number | null;
}
export interface ReadRow {
  message_id: string;
  user_id: string;
  read_at: number;
  ack_seq: number;
  /** 1: private (schema version 3). */
  private?: number;
}

export const toConv = (r: ConvRow): ConversationRecord => ({
  id: r.id,
  type: r.type,
  groupType: r.group_type,
  name: r.name,
  c2cUsers: r.user_a !== null && r.user_b !== null ? [r.user_a, r.user_b] : null,
  seq: r.seq,
  memberCount: r.member_count,
  createdAt: r.created_at,
});
export const toMsg = (r: MsgRow): MessageRecord => ({
  id: r.id,
  convId: r.conv_id,
  convType: r.conv_type,
  senderId: r.sender_id,
  text: r.text,
  needReadReceipt: r.need_receipt === 1,
  seq: r.seq,
  sentAt: r.sent_at,
  audienceCount: r.audience_count,
  readCount: r.read_count,
  deliveredCount: r.delivered_count,
  lastReadAt: r.last_read_at,
  lastAckSeq: r.last_ack_seq,
});
export const toSpan = (r: SpanRow): MemberSpan => ({ convId: r.conv_id, userId: r.user_id, joinedSeq: r.joined_seq, leftSeq: r.left_seq });
export const toRead = (r: ReadRow): ReadRecord =>
  r.private === 1
    ? { messageId: r.message_id, userId: r.user_id, readAt: r.read_at, ackSeq: r.ack_seq, private: true }
    : { messageId: r.message_id, userId: r.user_id, readAt: r.read_at, ackSeq: r.ack_seq };

/** A row of `read_positions`. */
export interface PositionRow {
  user_id: string;
  conv_id: string;
  seq: number;
  read_at: number;
}
export const toPosition = (r: PositionRow): ReadPositionRecord => ({ convId: r.conv_id, userId: r.user_id, seq: r.seq, readAt: r.read_at });

// Ack batch results, kept for replay. Stored compactly (ids, one status letter per item, the
// reasons of the few rejected ones) rather than as the response's JSON: a 500-ack batch is
// written on every request but read back only when a client retries.
const STATUS_CODE: Record<AckResult['s'], string> = { accepted: 'a', duplicate: 'd', rejected: 'r' };
const CODE_STATUS: Record<string, AckResult['s']> = { a: 'accepted', d: 'duplicate', r: 'rejected' };

/** The stored form of a batch result: `[ids, statuses, reasons by index]` (its batchId is the row's). */
export function encodeBatchResult(result: AckBatchResponse, batchId: string): string {
  if (result.batchId !== batchId || result.positions !== undefined || result.deliveries !== undefined) return JSON.stringify(result);
  const n = result.results.length;
  const ids: string[] = new Array<string>(n);
  let statuses = '';
  let reasons: Record<number, string> | undefined;
  for (let i = 0; i < n; i++) {
    const r = result.results[i] as AckResult;
    ids[i] = r.m;
    statuses += STATUS_CODE[r.s];
    if (r.r !== undefined) (reasons ??= {})[i] = r.r;
  }
  return JSON.stringify(reasons ? [ids, statuses, reasons] : [ids, statuses]);
}

/** A batch result back from its stored form (or from the full JSON that earlier versions stored). */
export function decodeBatchResult(stored: string, batchId: string): AckBatchResponse {
  const parsed = JSON.parse(stored) as AckBatchResponse | [string[], string, Record<string, AckResult['r']>?];
  if (!Array.isArray(parsed)) return parsed;
  const [ids, statuses, reasons] = parsed;
  const results = ids.map((m, i): AckResult => {
    const s = CODE_STATUS[statuses[i] as string] as AckResult['s'];
    const r = reasons?.[i];
    return r === undefined ? { m, s } : { m, s, r };
  });
  return { type: 'ack-batch-result', batchId, results };
}
