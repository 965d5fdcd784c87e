import type { MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { queuedAckKey } from './readState';
import { readMany } from './readMany';

/**
 * For the messages among `rows` whose stored ack status is 'pending', whether
 * the ack is still in the outbox (true) or has reached the server (false),
 * by message id. Other rows are left out: their stored status is final.
 * One outbox read for all of them; run it in the transaction that read `rows`
 * when the two must agree.
 */
export async function loadQueuedAcks(db: ReadSyncDb, rows: readonly MessageRow[]): Promise<Map<string, boolean>> {
  const ids: string[] = [];
  const keys: string[] = [];
  for (const m of rows) {
    const key = queuedAckKey(m);
    if (key === null) continue;
    ids.push(m.id);
    keys.push(key);
  }
  const out = new Map<string, boolean>();
  if (keys.length === 0) return out;
  const found = await readMany(db.outbox, keys);
  ids.forEach((id, i) => out.set(id, found[i] !== undefined));
  return out;
}
