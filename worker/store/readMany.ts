import type { Table } from 'dexie';

/** Below this many keys, plain bulkGet. */
const MANY = 256;
/** Read the whole table instead when the keys are at least this share of it. */
const SHARE = 4;

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
