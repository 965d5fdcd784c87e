import type { Collection } from 'dexie';
import type { AckOutboxRow, ReadSyncDb } from './ReadSyncDb';

/**
 * Outbox keys of acknowledgements. An ack's key is `a:` + a zero-padded
 * sequence number taken from a per-database counter when the ack is queued,
 * so key order is enqueue order and a key is never used twice. That lets the
 * flusher read a batch as one key range and, once the server confirmed it,
 * drop it with ONE range delete instead of one request per ack.
 * (`msg:` keys sort after every `a:` key, so the two kinds never mix in a range.)
 */

const PREFIX = 'a:';
const DIGITS = 16; // Number.MAX_SAFE_INTEGER has 16 digits

/** The outbox key of the ack with sequence number `seq` (a positive integer). */
export function ackKey(seq: number): string {
  return PREFIX + String(seq).padStart(DIGITS, '0');
}

/** Lowest and highest possible ack keys: `between(ACK_KEYS_FROM, ACK_KEYS_TO)` covers every ack. */
export const ACK_KEYS_FROM = ackKey(0);
export const ACK_KEYS_TO = PREFIX + '9'.repeat(DIGITS);

/** Prefix of the outbox keys of queued read positions, one per conversation (`p:<convId>`). */
export const POSITION_KEY_PREFIX = 'p:';

/** The outbox key of the queued read position of a conversation. */
export function positionKey(convId: string): string {
  return POSITION_KEY_PREFIX + convId;
}

/**
 * Prefix of the outbox keys of queued delivery ranges (issue 10.5), one per
 * conversation (`d:<convId>`). `d:` sorts after every `a:` key and before
 * `msg:`, `p:` and `s:`, so each kind stays one key range of its own.
 */
export const DELIVERY_KEY_PREFIX = 'd:';

/** The outbox key of the queued delivery ranges of a conversation. */
export function deliveryKey(convId: string): string {
  return DELIVERY_KEY_PREFIX + convId;
}

/** The sequence number in an ack key, or NaN for any other key. */
export function ackSeqOf(key: string): number {
  if (key.length !== PREFIX.length + DIGITS || !key.startsWith(PREFIX)) return Number.NaN;
  const n = Number(key.slice(PREFIX.length));
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * The queued acks, in key (= enqueue) order: every ack row, or those after
 * the key `after`. The one place that knows which outbox keys are acks.
 */
export function queuedAckRows(db: ReadSyncDb, after?: string): Collection<AckOutboxRow, string> {
  return db.outbox.where(':id').between(after ?? ACK_KEYS_FROM, ACK_KEYS_TO, after === undefined, true) as unknown as Collection<AckOutboxRow, string>;
}

/** The `meta` row holding the last ack sequence number handed out. */
export const ACK_SEQ_META = 'ackSeq';
