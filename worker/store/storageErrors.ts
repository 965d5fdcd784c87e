import { ReadSyncError, StorageError } from '../../src/protocol';

/**
 * Turns whatever IndexedDB/Dexie threw into a `StorageError` (code `storage`),
 * keeping `ReadSyncError`s (rule and validation errors thrown inside our own
 * transactions) as they are. A failed transaction rolled back, so what was
 * stored before, the outbox included, is intact.
 */
export function toStorageError(err: unknown, what: string): ReadSyncError {
  if (err instanceof ReadSyncError) return err;
  const e = err as { name?: unknown; message?: unknown; inner?: { name?: unknown } } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const inner = typeof e?.inner?.name === 'string' && e.inner.name !== name ? ` (${e.inner.name})` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return new StorageError(`${what} failed: ${name}${inner}: ${message}`, err);
}

/** Runs a database operation, rethrowing its failure as `toStorageError` does. */
export async function withStorage<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toStorageError(err, what);
  }
}

/**
 * Dexie reports a bulk write of 50 rows or more as a change of the whole
 * table; below that it reports the exact keys. Writing in chunks of 49 inside
 * the same transaction keeps change notifications precise (the subscription
 * hub recomputes only the read states that changed) at no cost to atomicity.
 */
export const PRECISE_CHUNK = 49;

/** `bulkPut` in chunks of `PRECISE_CHUNK`, all queued at once in the current transaction. */
export async function bulkPutPrecise<T>(table: { bulkPut(rows: readonly T[]): Promise<unknown> }, rows: readonly T[]): Promise<void> {
  if (rows.length <= PRECISE_CHUNK) {
    if (rows.length > 0) await table.bulkPut(rows);
    return;
  }
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < rows.length; i += PRECISE_CHUNK) puts.push(table.bulkPut(rows.slice(i, i + PRECISE_CHUNK)));
  await Promise.all(puts);
}
