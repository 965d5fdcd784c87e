import type { MessageReceipt } from './entities';
import { parsePayload } from './validate';
import { ITEM_STATUSES, REJECT_REASONS, ServerEventSchema, type AckBatchResponse, type AckResult, type ReceiptsEvent, type ServerEvent } from './wire';

/*
 * Hand-written fast paths for the two hot payloads: a `receipts` event can
 * carry 10,000 receipts (running the valibot schema over them takes 10-25 ms
 * of the worker's time in a burst), and every ack request's answer carries
 * one result per ack. These checks are the same rules as
 * `ReceiptsEventSchema` / `AckBatchResponseSchema`, written out. They only
 * ever say "valid" or "don't know": anything they do not accept goes through
 * the schema, which then parses it or explains what is wrong. A test holds
 * them to the schema on valid and mutated payloads.
 */

const ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
const MESSAGE_ID = /^[A-Za-z0-9_-]{8,32}$/;
const MAX_TIME = 8.64e15;
const BATCH_ID = /^[A-Za-z0-9_-]{8,64}$/;
const STATUSES = new Set<unknown>(ITEM_STATUSES);
const REASONS = new Set<unknown>(REJECT_REASONS);

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Whether `x` is a message id by `MessageIdSchema`'s rule (for fast paths elsewhere, e.g. the worker's subscribe). */
export const isMessageId = (x: unknown): x is string => typeof x === 'string' && MESSAGE_ID.test(x);

/** The receipt as the schema would output it (known keys only), or null if the fast checks do not accept it. */
function fastReceipt(x: unknown): MessageReceipt | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
  const r = x as Record<string, unknown>;
  const { convId, convType, messageId, timestamp, isPeerRead, readCount, unreadCount, deliveredCount } = r;
  if (
    typeof convId !== 'string' ||
    !ID.test(convId) ||
    (convType !== 'c2c' && convType !== 'group') ||
    typeof messageId !== 'string' ||
    !MESSAGE_ID.test(messageId) ||
    !isCount(timestamp) ||
    timestamp > MAX_TIME ||
    typeof isPeerRead !== 'boolean' ||
    !isCount(readCount) ||
    !isCount(unreadCount)
  ) {
    return null;
  }
  if (deliveredCount === undefined) return { convId, convType, messageId, timestamp, isPeerRead, readCount, unreadCount };
  if (!isCount(deliveredCount)) return null;
  return { convId, convType, messageId, timestamp, isPeerRead, readCount, unreadCount, deliveredCount };
}

/** A `receipts` event, parsed by the fast checks; null when they do not accept it (use the schema then). */
export function fastReceiptsEvent(raw: unknown): ReceiptsEvent | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const e = raw as Record<string, unknown>;
  if (e.type !== 'receipts' || !isCount(e.cursor) || !Array.isArray(e.receipts)) return null;
  const list = e.receipts as unknown[];
  const receipts: MessageReceipt[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = fastReceipt(list[i]);
    if (r === null) return null;
    receipts[i] = r;
  }
  return { type: 'receipts', receipts, cursor: e.cursor };
}

/** An `ack-batch-result`, parsed by the fast checks; null when they do not accept it (use the schema then). */
export function fastAckBatchResponse(raw: unknown): AckBatchResponse | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const e = raw as Record<string, unknown>;
  if (e.type !== 'ack-batch-result' || typeof e.batchId !== 'string' || !BATCH_ID.test(e.batchId) || !Array.isArray(e.results)) return null;
  // Read positions and delivery ranges (few): the schema checks them.
  if (e.positions !== undefined || e.deliveries !== undefined) return null;
  const list = e.results as unknown[];
  const results: AckResult[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
    const { m, s, r } = x as Record<string, unknown>;
    if (typeof m !== 'string' || !MESSAGE_ID.test(m) || !STATUSES.has(s)) return null;
    if ('r' in (x as object)) {
      if (!REASONS.has(r)) return null; // absent is fine; present must be a known reason
      results[i] = { m, s: s as AckResult['s'], r: r as AckResult['r'] };
    } else {
      results[i] = { m, s: s as AckResult['s'] };
    }
  }
  return { type: 'ack-batch-result', batchId: e.batchId, results };
}

/**
 * Validates a server event: a receipts event through the fast checks, and
 * anything they do not accept through `ServerEventSchema`, which then parses
 * it or throws a `ProtocolError` saying what is wrong.
 */
export function parseServerEvent(raw: unknown): ServerEvent {
  return fastReceiptsEvent(raw) ?? parsePayload(ServerEventSchema, raw, 'server event');
}
