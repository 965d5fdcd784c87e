/**
 * The delivery rows of the outbox (issue 10.5, store/deliveries.ts): merged
 * ranges, one row per conversation, read in pages, and an answer removes
 * exactly what was sent, so a row that grew while its batch travelled keeps
 * the new part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { ReadSyncDb, type DeliveryOutboxRow } from '../../../worker/db/ReadSyncDb';
import { deliveriesAnswered, deliveryRangesOf, queueDeliveries, readDeliveryItems, subtractRange } from '../../../worker/store/deliveries';
import type { Coverage } from '../../../worker/store/coverage';
import type { Message } from '../../../src/protocol';

const dbs: ReadSyncDb[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function openDb(): ReadSyncDb {
  const db = new ReadSyncDb('readsync-bob', { indexedDB: new IDBFactory(), IDBKeyRange });
  dbs.push(db);
  return db;
}

/** Queues ranges as storeServerMessages does: inside a rw transaction over the outbox. */
function queue(db: ReadSyncDb, ranges: Record<string, Coverage>): Promise<boolean> {
  return db.transaction('rw', db.outbox, () => queueDeliveries(db, new Map(Object.entries(ranges))));
}

const rows = async (db: ReadSyncDb) => Object.fromEntries(((await db.outbox.toArray()) as DeliveryOutboxRow[]).map((r) => [r.convId, r.ranges]));

const msg = (convId: string, seq: number): Message => ({ id: `m${String(seq).padStart(9, '0')}${convId}`, convId, convType: 'group', senderId: 'alice', text: 't', needReadReceipt: true, seq, sentAt: 1, audienceCount: 2 });

describe('delivery rows', () => {
  it('subtractRange leaves what lies outside the answered range', () => {
    expect(subtractRange([[0, 10]], 0, 10)).toEqual([]);
    expect(subtractRange([[0, 10]], 0, 5)).toEqual([[5, 10]]);
    expect(subtractRange([[0, 10]], 3, 5)).toEqual([[0, 3], [5, 10]]);
    expect(subtractRange([[0, 2], [4, 6], [8, 9]], 1, 8)).toEqual([[0, 1], [8, 9]]);
    expect(subtractRange([[4, 6]], 0, 4)).toEqual([[4, 6]]);
  });

  it('ranges of a stored batch: one per conversation from a complete run, one per message (merged where they touch) otherwise', () => {
    const batch = [msg('a', 7), msg('b', 3), msg('a', 5), msg('a', 6), msg('a', 9)];
    expect(Object.fromEntries(deliveryRangesOf(batch, true))).toEqual({ a: [[4, 9]], b: [[2, 3]] });
    expect(Object.fromEntries(deliveryRangesOf(batch, false))).toEqual({ a: [[4, 7], [8, 9]], b: [[2, 3]] });
  });

  it('ranges from scattered messages in any order: sorted, merged where they touch, apart where a position is missing', () => {
    // 20,000 messages at positions 1..30,000 but every third missing, shuffled: 10,000 runs of two.
    const seqs = Array.from({ length: 30_000 }, (_, i) => i + 1).filter((q) => q % 3 !== 0);
    for (let i = seqs.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [seqs[i], seqs[j]] = [seqs[j]!, seqs[i]!];
    }
    const ranges = deliveryRangesOf(seqs.map((q) => msg('a', q)), false).get('a')!;
    expect(ranges).toHaveLength(10_000);
    expect(ranges.slice(0, 2)).toEqual([[0, 2], [3, 5]]);
    expect(ranges.at(-1)).toEqual([29_997, 29_999]);
  });

  it('merges into one row per conversation; a range already held changes nothing', async () => {
    const db = openDb();
    expect(await queue(db, { team: [[0, 3]], pair: [[4, 5]] })).toBe(true);
    expect(await queue(db, { team: [[3, 6], [9, 10]] })).toBe(true);
    expect(await queue(db, { team: [[1, 2]] })).toBe(false);
    expect(await rows(db)).toEqual({ team: [[0, 6], [9, 10]], pair: [[4, 5]] });
    expect(await db.outbox.count()).toBe(2);
  });

  it('a row that grew while its batch travelled keeps the new part; unanswered ranges stay', async () => {
    const db = openDb();
    await queue(db, { team: [[0, 5], [7, 8]], pair: [[0, 2]] });
    const { items } = await readDeliveryItems(db, 100);
    expect(items.map((i) => [i.convId, i.range])).toEqual([
      ['pair', [0, 2]],
      ['team', [0, 5]],
      ['team', [7, 8]],
    ]);
    // Meanwhile more of `team` is stored: (5, 7] joins both of its ranges into one.
    await queue(db, { team: [[5, 7]] });
    // Answers in request order; the last range gets none (a server that answered only part).
    const done = await deliveriesAnswered(db, items, [
      { c: 'pair', s: 'rejected', r: 'not-member' },
      { c: 'team', s: 'accepted', n: 5 },
    ]);
    expect(done).toEqual({ answered: 2, refused: ['not-member'] });
    expect(await rows(db)).toEqual({ team: [[5, 8]] });
    // An answer naming another conversation than the one sent at its place answers nothing.
    const again = await readDeliveryItems(db, 100);
    expect(await deliveriesAnswered(db, again.items, [{ c: 'pair', s: 'accepted', n: 0 }])).toEqual({ answered: 0, refused: [] });
    expect(await deliveriesAnswered(db, again.items, [{ c: 'team', s: 'accepted', n: 1 }])).toEqual({ answered: 1, refused: [] });
    expect(await db.outbox.count()).toBe(0);
  });

  it('pages: whole rows up to the cap, a first row over it in parts, read on after the last key', async () => {
    const db = openDb();
    const many: Coverage = Array.from({ length: 5 }, (_, i) => [i * 3, i * 3 + 1] as [number, number]);
    await queue(db, { aaa: many, bbb: [[0, 1]], ccc: [[0, 1], [2, 3]] });
    const first = await readDeliveryItems(db, 3);
    expect(first.items.map((i) => [i.convId, i.range])).toEqual([['aaa', [0, 1]], ['aaa', [3, 4]], ['aaa', [6, 7]]]);
    expect(first.last).toBe('d:aaa');
    const second = await readDeliveryItems(db, 3, first.last!);
    // bbb (one range) and ccc (two) fill the cap exactly; under a cap of 2, ccc waits for the next page.
    expect(second.items.map((i) => i.convId)).toEqual(['bbb', 'ccc', 'ccc']);
    expect((await readDeliveryItems(db, 2, first.last!)).items.map((i) => i.convId)).toEqual(['bbb']);
    expect(await readDeliveryItems(db, 3, second.last!)).toEqual({ items: [], last: null });
    // The part of aaa that was sent leaves; the rest waits for the next pass.
    await deliveriesAnswered(db, first.items, first.items.map((i) => ({ c: i.convId, s: 'accepted' as const, n: 1 })));
    expect((await rows(db)).aaa).toEqual([[9, 10], [12, 13]]);
  });
});
