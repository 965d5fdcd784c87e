import type { Table } from 'dexie';
import type { MessageRow, ReadSyncDb } from '../db/ReadSyncDb';

/** Below this many keys, plain bulkGet. */
export const MANY = 256;
/** Read the whole table (or a range) instead when the keys are at least this share of it. */
export const SHARE = 4;

/**
 * Reads rows by primary key, in the order of `keys` (undefined where absent).
 * IndexedDB has no multi-get: bulkGet is one request per key, which in
 * Chromium costs ~0.15 ms each (1.5 s for 10,000). When the keys are a large
 * share of the table, ONE getAll of the whole table is many times faster, so
 * big batches (a 10,000-receipt burst, 10,000 new subscriptions, markRead of
 * a whole conversation) take that path. Must run inside a transaction that
 * includes `table` when atomicity matters.
 */
export async function readMany<T>(table: Table<T, string>, keys: readonly string[]): Promise<(T | undefined)[]> {
  if (keys.length < MANY) return table.bulkGet(keys as string[]);
  const total = await table.count();
  if (total > keys.length * SHARE) return table.bulkGet(keys as string[]);
  const keyPath = table.schema.primKey.keyPath as string;
  const byKey = new Map<unknown, T>();
  for (const row of await table.toArray()) byKey.set((row as Record<string, unknown>)[keyPath], row);
  return keys.map((k) => byKey.get(k));
}

/** Where a message sits in its conversation (`[convId+pos]`), as a cache last saw it: a hint, never the truth. */
export type PositionHint = (messageId: string) => { convId: string; pos: number } | undefined;

/**
 * Message rows by id, in the order of `ids`, like `readMany`, but for the
 * ids whose position a cache knows (`hint`: the read states on screen), as
 * ONE `[convId+pos]` range read per conversation when their positions are
 * dense enough (span at most SHARE times the ids): messages on screen are
 * neighbours in their conversation, while their ids are random, so a range
 * read replaces one IndexedDB request per id (~0.1-0.25 ms each) with one.
 * Every row still comes from the store inside the caller's transaction: a
 * stale hint only means that id is read by key. Others' message positions
 * are their server seqs, unique per conversation, so a span of k positions
 * holds at most k rows.
 */
export async function readMessages(table: ReadSyncDb['messages'], ids: readonly string[], hint: PositionHint | undefined): Promise<(MessageRow | undefined)[]> {
  // Stored rows always have their key (InsertType only makes `id` optional for writes).
  const byKey = (keys: readonly string[]) => readMany(table, keys) as Promise<(MessageRow | undefined)[]>;
  if (hint === undefined || ids.length < MANY) return byKey(ids);
  const spans = new Map<string, { from: number; to: number; n: number }>();
  for (const id of ids) {
    const h = hint(id);
    if (h === undefined || !Number.isSafeInteger(h.pos)) continue;
    const s = spans.get(h.convId);
    if (s === undefined) spans.set(h.convId, { from: h.pos, to: h.pos, n: 1 });
    else {
      if (h.pos < s.from) s.from = h.pos;
      if (h.pos > s.to) s.to = h.pos;
      s.n++;
    }
  }
  const dense = [...spans].filter(([, s]) => s.n >= MANY && s.to - s.from + 1 <= s.n * SHARE);
  if (dense.length === 0) return byKey(ids);
  const found = new Map<string, MessageRow>();
  const ranges = await Promise.all(dense.map(([convId, s]) => table.where('[convId+pos]').between([convId, s.from], [convId, s.to], true, true).toArray()));
  for (const rows of ranges) for (const r of rows as MessageRow[]) found.set(r.id, r);
  const rest = ids.filter((id) => !found.has(id));
  const restRows = await byKey(rest);
  rest.forEach((id, i) => {
    const r = restRows[i];
    if (r !== undefined) found.set(id, r);
  });
  return ids.map((id) => found.get(id));
}
