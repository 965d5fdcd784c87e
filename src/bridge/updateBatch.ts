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
 * What the worker posts to the UI's single sink per tick: read-state values
 * packed in columns, every other update (lists, status, receipt batches,
 * nulls, errors) as it is. At most one entry per subscription id.
 */
export interface UpdateBatch {
  readStates?: ReadStateColumns;
  updates?: SubscriptionUpdate[];
}

function emptyColumns(): ReadStateColumns {
  return {
    id: [],
    messageId: [],
    convId: [],
    convType: [],
    direction: [],
    needReadReceipt: [],
    status: [],
    readCount: [],
    unreadCount: [],
    deliveredCount: [],
    isPeerRead: [],
    timestamp: [],
    ackStatus: [],
    label: [],
    error: {},
    ackError: {},
  };
}

/**
 * Packs updates for the sink. `isReadState(u)` tells which values are
 * ReadState objects (the worker knows each subscription's query); those go
 * into columns, the rest stay as they are.
 */
export function packUpdates(updates: Iterable<SubscriptionUpdate>, isReadState: (u: SubscriptionUpdate) => boolean): UpdateBatch {
  let cols: ReadStateColumns | undefined;
  let rest: SubscriptionUpdate[] | undefined;
  for (const u of updates) {
    if (u.error === undefined && u.value != null && isReadState(u)) {
      cols ??= emptyColumns();
      const s = u.value as ReadState;
      const row = cols.id.length;
      // Spelled out, not looped over the field names: this runs 10,000 times in a burst.
      cols.id.push(u.id);
      cols.messageId.push(s.messageId);
      cols.convId.push(s.convId);
      cols.convType.push(s.convType);
      cols.direction.push(s.direction);
      cols.needReadReceipt.push(s.needReadReceipt);
      cols.status.push(s.status);
      cols.readCount.push(s.readCount);
      cols.unreadCount.push(s.unreadCount);
      cols.deliveredCount!.push(s.deliveredCount);
      cols.isPeerRead.push(s.isPeerRead);
      cols.timestamp.push(s.timestamp);
      cols.ackStatus.push(s.ackStatus);
      cols.label.push(s.label);
      if (s.error) cols.error[row] = s.error;
      if (s.ackError) cols.ackError[row] = s.ackError;
    } else {
      (rest ??= []).push(u);
    }
  }
  const batch: UpdateBatch = {};
  if (cols) batch.readStates = cols;
  if (rest) batch.updates = rest;
  return batch;
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
  return (batch.updates?.length ?? 0) + (batch.readStates?.id.length ?? 0);
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
