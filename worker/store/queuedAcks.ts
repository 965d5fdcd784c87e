import type { MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { queuedAckKey } from './readState';
import { MANY, SHARE, readMany } from './readMany';

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
  const present = await outboxHas(db, keys);
  ids.forEach((id, i) => out.set(id, present(i)));
  return out;
}

/**
 * Which of `keys` are in the outbox. Many keys (a markRead of 10,000 shown
 * messages) are mostly neighbours: ack keys are handed out in order, one
 * range per markRead. So they are answered by the primary keys of the range
 * they span (one `getAllKeys`, no values cloned), read with a limit: when the
 * range holds more than SHARE times the keys asked, by key after all.
 */
async function outboxHas(db: ReadSyncDb, keys: readonly string[]): Promise<(i: number) => boolean> {
  if (keys.length >= MANY) {
    let lo = keys[0] as string;
    let hi = lo;
    for (const k of keys) {
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
    const limit = keys.length * SHARE;
    const inRange = await db.outbox.where(':id').between(lo, hi, true, true).limit(limit + 1).primaryKeys();
    if (inRange.length <= limit) {
      const set = new Set<string>(inRange);
      return (i) => set.has(keys[i] as string);
    }
  }
  const found = await readMany(db.outbox, keys);
  return (i) => found[i] !== undefined;
}
