import type { Collection } from 'dexie';
import { FEATURE_DELIVERY, type DeliveryRange, type DeliveryResult, type Message, type RejectReason } from '../../src/protocol';
import type { DeliveryOutboxRow, ReadSyncDb } from '../db/ReadSyncDb';
import { DELIVERY_KEY_PREFIX, deliveryKey } from '../db/ackKeys';
import type { Coverage } from './coverage';
import { META_CONFIG } from './meta';

/**
 * Delivery (issue 10.5): this device tells the server which messages it has
 * stored, so their senders see "Delivered". What was stored and not yet told
 * waits as ONE outbox row per conversation (`d:<convId>`) holding position
 * ranges `(lo, hi]`, merged as messages arrive. The row is written in the
 * transaction that stores the messages (storeServerMessages), so a crash
 * can lose neither; it rides in the ack batches and an answer removes what
 * was sent, never what was added meanwhile.
 */

/** Every queued delivery row, in key order (`d:` keys sort apart from acks, messages, positions and settings). */
export function queuedDeliveryRows(db: ReadSyncDb, after?: string): Collection<DeliveryOutboxRow, string> {
  return db.outbox.where(':id').between(after ?? DELIVERY_KEY_PREFIX, DELIVERY_KEY_PREFIX + '\uffff', after === undefined, false) as unknown as Collection<DeliveryOutboxRow, string>;
}

const isRange = (r: unknown): r is [number, number] =>
  Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && (r[0] as number) >= 0 && (r[0] as number) < (r[1] as number);

/** The ranges of a stored delivery row; a damaged row holds none (it is dropped when next written or answered). */
export function rangesOf(row: unknown): Coverage {
  if (typeof row !== 'object' || row === null) return [];
  const r = row as Partial<DeliveryOutboxRow>;
  return Array.isArray(r.ranges) && r.ranges.every(isRange) ? r.ranges : [];
}

/** `ranges` without `(lo, hi]`: what a row still holds once the server has answered for that range. */
export function subtractRange(ranges: Coverage, lo: number, hi: number): Coverage {
  const out: Coverage = [];
  for (const r of ranges) {
    if (r[1] <= lo || r[0] >= hi) out.push(r);
    else {
      if (r[0] < lo) out.push([r[0], lo]);
      if (hi < r[1]) out.push([hi, r[1]]);
    }
  }
  return out;
}

/** Whether the cached server config announces `delivery` (a key read, no schema parse: it runs with every stored batch). */
export async function deliveryAnnounced(db: ReadSyncDb): Promise<boolean> {
  const value = (await db.meta.get(META_CONFIG))?.value as { features?: unknown } | undefined;
  return Array.isArray(value?.features) && value.features.includes(FEATURE_DELIVERY);
}

/**
 * The delivery ranges of messages just stored, per conversation: only
 * messages from someone else that asked for receipts count (the server
 * counts nothing else). `contiguous`: the messages of each conversation are
 * a complete run of its positions (a pull page, a history page, a `messages`
 * event: the server sends every message between the first and the last), so
 * one range from the lowest to the highest is exact; otherwise (the app's own
 * channel) each message is a range of its own, merged where they touch.
 */
export function deliveryRangesOf(messages: readonly Message[], contiguous: boolean): Map<string, Coverage> {
  const out = new Map<string, Coverage>();
  if (contiguous) {
    const span = new Map<string, [number, number]>();
    for (const m of messages) {
      const s = span.get(m.convId);
      if (!s) span.set(m.convId, [m.seq, m.seq]);
      else {
        if (m.seq < s[0]) s[0] = m.seq;
        if (m.seq > s[1]) s[1] = m.seq;
      }
    }
    for (const [c, [lo, hi]] of span) if (hi >= 1) out.set(c, [[Math.max(0, lo - 1), hi]]);
    return out;
  }
  const each = new Map<string, Coverage>();
  for (const m of messages) {
    if (m.seq < 1) continue;
    let list = each.get(m.convId);
    if (!list) each.set(m.convId, (list = []));
    list.push([m.seq - 1, m.seq]);
  }
  for (const [c, list] of each) out.set(c, mergeRanges(list));
  return out;
}

/**
 * Ranges sorted and merged where they overlap or touch: `(0, 2]` and `(2, 5]`
 * are `(0, 5]`, since both were stored whole. Sorting first keeps a batch of
 * 50,000 scattered messages at n log n, not a merge per message.
 */
export function mergeRanges(ranges: readonly (readonly [number, number])[]): Coverage {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Coverage = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

const sameRanges = (a: Coverage, b: Coverage): boolean => a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);

/**
 * Merges `ranges` into the conversations' delivery rows. Call inside a rw
 * transaction over outbox (the one storing the messages). Returns whether a
 * row changed (something new to send).
 */
export async function queueDeliveries(db: ReadSyncDb, ranges: ReadonlyMap<string, Coverage>): Promise<boolean> {
  if (ranges.size === 0) return false;
  const convIds = [...ranges.keys()];
  const keys = convIds.map(deliveryKey);
  const olds = await db.outbox.bulkGet(keys);
  const puts: DeliveryOutboxRow[] = [];
  convIds.forEach((convId, i) => {
    const before = rangesOf(olds[i]);
    const merged = mergeRanges([...before, ...(ranges.get(convId) as Coverage)]);
    if (!sameRanges(merged, before)) puts.push({ key: keys[i] as string, kind: 'delivery', convId, ranges: merged });
  });
  if (puts.length > 0) await db.outbox.bulkPut(puts);
  return puts.length > 0;
}

/** One delivery range as sent: the row it came from and the range. */
export interface DeliveryItem {
  key: string;
  convId: string;
  range: [number, number];
}

/** The wire form of a queued delivery range. */
export function toDeliveryRange(item: DeliveryItem): DeliveryRange {
  return { c: item.convId, f: item.range[0], s: item.range[1] };
}

/**
 * Up to `maxRanges` queued delivery ranges, rows in key order after the key
 * `after`: whole rows, except that a first row holding more than fit gives
 * its first `maxRanges` (the rest goes in the next pass). `last` is the key
 * to read on from (null when no row was read).
 */
export async function readDeliveryItems(db: ReadSyncDb, maxRanges: number, after?: string): Promise<{ items: DeliveryItem[]; last: string | null }> {
  const items: DeliveryItem[] = [];
  let last: string | null = null;
  // Rows hold a few ranges each: reading maxRanges rows always fills a batch.
  const rows = await queuedDeliveryRows(db, after).limit(maxRanges).toArray();
  for (const row of rows) {
    const ranges = rangesOf(row);
    if (items.length > 0 && items.length + ranges.length > maxRanges) break;
    last = row.key;
    if (typeof row.convId !== 'string') continue;
    for (const range of ranges.slice(0, maxRanges - items.length)) items.push({ key: row.key, convId: row.convId, range });
  }
  return { items, last };
}

/**
 * Applies the answers to delivery ranges sent in one batch (`results` in
 * request order, each naming its conversation), in ONE transaction: an
 * answered range, accepted or refused, leaves its row, which keeps whatever
 * was merged into it while the batch travelled; an empty row is deleted.
 * Items without a matching answer stay queued. Returns how many were
 * answered, and the refusals' reasons.
 */
export async function deliveriesAnswered(
  db: ReadSyncDb,
  items: readonly DeliveryItem[],
  results: readonly DeliveryResult[] | undefined,
): Promise<{ answered: number; refused: RejectReason[] }> {
  const done = new Map<string, DeliveryItem[]>();
  const refused: RejectReason[] = [];
  items.forEach((item, i) => {
    const r = results?.[i];
    if (!r || r.c !== item.convId) return;
    let list = done.get(item.key);
    if (!list) done.set(item.key, (list = []));
    list.push(item);
    if (r.s === 'rejected') refused.push(r.r ?? 'invalid-argument');
  });
  if (done.size === 0) return { answered: 0, refused };
  const keys = [...done.keys()];
  await db.transaction('rw', db.outbox, async () => {
    const current = await db.outbox.bulkGet(keys);
    const drop: string[] = [];
    const puts: DeliveryOutboxRow[] = [];
    keys.forEach((key, i) => {
      const row = current[i];
      if (!row) return;
      let left = rangesOf(row);
      for (const { range } of done.get(key) as DeliveryItem[]) left = subtractRange(left, range[0], range[1]);
      if (left.length === 0) drop.push(key);
      else puts.push({ ...(row as DeliveryOutboxRow), ranges: left });
    });
    if (drop.length > 0) await db.outbox.bulkDelete(drop);
    if (puts.length > 0) await db.outbox.bulkPut(puts);
  });
  return { answered: [...done.values()].reduce((n, l) => n + l.length, 0), refused };
}
