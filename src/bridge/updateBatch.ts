import type { ErrorPayload } from '../protocol';
import type { ReadState, SubscriptionUpdate } from './types';

/**
 * Read-state values of one batch, one array per field. Cloning 10,000
 * ReadState objects across threads costs ~35-55 ms of main-thread time in
 * Chromium (every object and property name is serialised and rebuilt);
 * fourteen flat arrays of the same values cost ~3-5 ms, and rebuilding the
 * objects on the UI side ~5 ms. Row i is the value for subscription `id[i]`.
 */
export interface ReadStateColumns {
  id: number[];
  messageId: string[];
  convId: string[];
  convType: ReadState['convType'][];
  direction: ReadState['direction'][];
  needReadReceipt: boolean[];
  status: ReadState['status'][];
  readCount: number[];
  unreadCount: number[];
  /** Absent from workers before issue 10.5: then `readCount`. */
  deliveredCount?: number[];
  isPeerRead: boolean[];
  timestamp: number[];
  ackStatus: ReadState['ackStatus'][];
  label: string[];
  /** Rare, so sparse: row index → error. */
  error: Record<number, ErrorPayload>;
  ackError: Record<number, ErrorPayload>;
}

/**
 * Read-state values of one batch in typed arrays, what the worker posts
 * since issue 14: the columns above still cost 14-30 ms to clone at 10,000
 * rows (140,000 values, each serialised), these 1-7 ms. Row i is the value
 * for subscription `id[i]`:
 * - `messageId`: the rows' message ids joined by commas (valid ids never
 *   contain one; a list, should one ever do);
 * - `strings`: the distinct strings of the coded fields, and `codes` six
 *   indices into it per row (convId, convType, direction, status, ackStatus, label);
 * - `numbers`: four per row (readCount, unreadCount, deliveredCount, timestamp);
 * - `flags`: one per row (1: needReadReceipt, 2: isPeerRead).
 */
export interface PackedReadStates {
  id: Float64Array;
  messageId: string | string[];
  strings: string[];
  codes: Uint32Array;
  numbers: Float64Array;
  flags: Uint8Array;
  /** Rare, so sparse: row index → error. */
  error: Record<number, ErrorPayload>;
  ackError: Record<number, ErrorPayload>;
}

/**
 * What the worker posts to the UI's single sink per tick: read-state values
 * packed (`packed`; `readStates` from workers before issue 14), every other
 * update (lists, status, receipt batches, nulls, errors) as it is. At most
 * one entry per subscription id.
 */
export interface UpdateBatch {
  packed?: PackedReadStates;
  readStates?: ReadStateColumns;
  updates?: SubscriptionUpdate[];
}

const CODES = 6;
const NUMBERS = 4;

/**
 * Packs updates for the sink. `isReadState(u)` tells which values are
 * ReadState objects (the worker knows each subscription's query); those are
 * packed (PackedReadStates), the rest stay as they are.
 */
export function packUpdates(updates: Iterable<SubscriptionUpdate>, isReadState: (u: SubscriptionUpdate) => boolean): UpdateBatch {
  const states: { id: number; value: ReadState }[] = [];
  let rest: SubscriptionUpdate[] | undefined;
  for (const u of updates) {
    if (u.error === undefined && u.value != null && isReadState(u)) states.push(u as { id: number; value: ReadState });
    else (rest ??= []).push(u);
  }
  const batch: UpdateBatch = {};
  if (states.length > 0) batch.packed = packReadStates(states);
  if (rest) batch.updates = rest;
  return batch;
}

function packReadStates(states: readonly { id: number; value: ReadState }[]): PackedReadStates {
  const n = states.length;
  const id = new Float64Array(n);
  const ids: string[] = new Array<string>(n);
  const codes = new Uint32Array(n * CODES);
  const numbers = new Float64Array(n * NUMBERS);
  const flags = new Uint8Array(n);
  const strings: string[] = [];
  const index = new Map<string, number>();
  const code = (x: string): number => {
    let k = index.get(x);
    if (k === undefined) {
      k = strings.length;
      strings.push(x);
      index.set(x, k);
    }
    return k;
  };
  const error: Record<number, ErrorPayload> = {};
  const ackError: Record<number, ErrorPayload> = {};
  let comma = false;
  // Spelled out, not looped over the field names: this runs 10,000 times in a burst.
  for (let i = 0; i < n; i++) {
    const { id: sub, value: s } = states[i]!;
    id[i] = sub;
    ids[i] = s.messageId;
    if (s.messageId.includes(',')) comma = true;
    const c = i * CODES;
    codes[c] = code(s.convId);
    codes[c + 1] = code(s.convType);
    codes[c + 2] = code(s.direction);
    codes[c + 3] = code(s.status);
    codes[c + 4] = code(s.ackStatus);
    codes[c + 5] = code(s.label);
    const k = i * NUMBERS;
    numbers[k] = s.readCount;
    numbers[k + 1] = s.unreadCount;
    numbers[k + 2] = s.deliveredCount;
    numbers[k + 3] = s.timestamp;
    flags[i] = (s.needReadReceipt ? 1 : 0) | (s.isPeerRead ? 2 : 0);
    if (s.error) error[i] = s.error;
    if (s.ackError) ackError[i] = s.ackError;
  }
  return { id, messageId: comma ? ids : ids.join(','), strings, codes, numbers, flags, error, ackError };
}

/**
 * Unpacks a batch into one update per subscription id. A plain array (what a
 * worker of an older version posts) is taken as it is, so a page and a
 * cached worker of different releases still talk.
 */
export function unpackUpdates(batch: UpdateBatch | SubscriptionUpdate[]): SubscriptionUpdate[] {
  return unpackRange(batch, 0, updateCount(batch));
}

/** How many updates a batch holds (one per subscription id). */
export function updateCount(batch: UpdateBatch | SubscriptionUpdate[]): number {
  if (Array.isArray(batch)) return batch.length;
  return (batch.updates?.length ?? 0) + (batch.packed?.id.length ?? 0) + (batch.readStates?.id.length ?? 0);
}

/**
 * Updates `from` (inclusive) to `to` (exclusive) of a batch, in the order
 * `unpackUpdates` gives them: the plain updates first, then the read-state
 * rows. The page unpacks a large batch a slice at a time, as it delivers it.
 */
export function unpackRange(batch: UpdateBatch | SubscriptionUpdate[], from: number, to: number): SubscriptionUpdate[] {
  if (Array.isArray(batch)) return from === 0 && to === batch.length ? batch : batch.slice(from, to);
  const plain = batch.updates ?? [];
  const out: SubscriptionUpdate[] = from < plain.length ? plain.slice(from, Math.min(to, plain.length)) : [];
  if (batch.packed) return unpackPacked(batch.packed, out, from - plain.length, to - plain.length);
  const cols = batch.readStates;
  if (!cols) return out;
  const n = Math.min(cols.id.length, to - plain.length);
  const delivered = cols.deliveredCount ?? cols.readCount;
  for (let i = Math.max(0, from - plain.length); i < n; i++) {
    const value: ReadState = {
      messageId: cols.messageId[i]!,
      convId: cols.convId[i]!,
      convType: cols.convType[i]!,
      direction: cols.direction[i]!,
      needReadReceipt: cols.needReadReceipt[i]!,
      status: cols.status[i]!,
      readCount: cols.readCount[i]!,
      unreadCount: cols.unreadCount[i]!,
      deliveredCount: delivered[i]!,
      isPeerRead: cols.isPeerRead[i]!,
      timestamp: cols.timestamp[i]!,
      ackStatus: cols.ackStatus[i]!,
      label: cols.label[i]!,
    };
    const error = cols.error[i];
    if (error) value.error = error;
    const ackError = cols.ackError[i];
    if (ackError) value.ackError = ackError;
    out.push({ id: cols.id[i]!, value });
  }
  return out;
}

/** Message ids of a packed batch, split once per batch (a large one is unpacked a slice at a time). */
const splitIds = new WeakMap<PackedReadStates, string[]>();

function unpackPacked(p: PackedReadStates, out: SubscriptionUpdate[], from: number, to: number): SubscriptionUpdate[] {
  let ids = splitIds.get(p);
  if (!ids) splitIds.set(p, (ids = typeof p.messageId === 'string' ? p.messageId.split(',') : p.messageId));
  const { strings, codes, numbers, flags } = p;
  const n = Math.min(p.id.length, to);
  for (let i = Math.max(0, from); i < n; i++) {
    const c = i * CODES;
    const k = i * NUMBERS;
    const f = flags[i]!;
    const value: ReadState = {
      messageId: ids[i]!,
      convId: strings[codes[c]!]!,
      convType: strings[codes[c + 1]!] as ReadState['convType'],
      direction: strings[codes[c + 2]!] as ReadState['direction'],
      needReadReceipt: (f & 1) !== 0,
      status: strings[codes[c + 3]!] as ReadState['status'],
      readCount: numbers[k]!,
      unreadCount: numbers[k + 1]!,
      deliveredCount: numbers[k + 2]!,
      isPeerRead: (f & 2) !== 0,
      timestamp: numbers[k + 3]!,
      ackStatus: strings[codes[c + 4]!] as ReadState['ackStatus'],
      label: strings[codes[c + 5]!]!,
    };
    const error = p.error[i];
    if (error) value.error = error;
    const ackError = p.ackError[i];
    if (ackError) value.ackError = ackError;
    out.push({ id: p.id[i]!, value });
  }
  return out;
}
