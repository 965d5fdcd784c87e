import { afterEach, describe, expect, it } from 'vitest';
import { OutboxStore } from '../../../worker/outbox/OutboxStore';
import { ackSeqOf } from '../../../worker/db/ackKeys';
import type { ReadSyncDb } from '../../../worker/db/ReadSyncDb';
import { enqueueMarkRead } from '../../../worker/store/enqueueMarkRead';
import { storeDelivered, World } from './harness';
import { ackStatuses } from '../harness';

const dbs: ReadSyncDb[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

async function setup(n: number) {
  const world = await World.create(['bob']);
  const messages = await world.post(n);
  const db = world.openDb('bob');
  dbs.push(db);
  await storeDelivered(db, messages);
  return { db, ids: messages.map((m) => m.id), store: new OutboxStore(db) };
}

describe('OutboxStore: ack batches', () => {
  it('reads acks in the order they were queued, across markRead calls', async () => {
    const { db, ids, store } = await setup(6);
    await enqueueMarkRead(db, [ids[4]!, ids[1]!], 'bob', 1);
    await enqueueMarkRead(db, [ids[0]!], 'bob', 2);
    await enqueueMarkRead(db, [ids[5]!, ids[2]!], 'bob', 3);
    const rows = await store.readAcks(10);
    expect(rows.map((r) => r.messageId)).toEqual([ids[4], ids[1], ids[0], ids[5], ids[2]]);
    expect(await store.readAcks(2)).toEqual(rows.slice(0, 2));
  });

  it('keeps exactly the acks the server did not answer, and marks only refused ones rejected', async () => {
    const { db, ids, store } = await setup(6);
    await enqueueMarkRead(db, ids, 'bob', 1);
    const rows = await store.readAcks(10);
    // answers for 0, 1, 3 (refused), 5; none for 2 and 4
    const answered = await store.applyAckResults(rows, [
      { m: ids[0]!, s: 'accepted' },
      { m: ids[1]!, s: 'duplicate' },
      { m: ids[3]!, s: 'rejected', r: 'not-member' },
      { m: ids[5]!, s: 'accepted' },
    ]);
    expect(answered).toBe(4);
    expect((await db.outbox.toArray()).map((r) => ('messageId' in r ? r.messageId : r.key))).toEqual([ids[2], ids[4]]);
    expect(await ackStatuses(db, ids)).toEqual(['sent', 'sent', 'pending', 'rejected', 'pending', 'sent']);
    expect((await db.messages.get(ids[3]!))?.ackError).toMatchObject({ code: 'not-member' });
  });

  it('never touches an ack queued while its batch was on the wire', async () => {
    const { db, ids, store } = await setup(4);
    await enqueueMarkRead(db, ids.slice(0, 2), 'bob', 1);
    const batch = await store.readAcks(10);
    await enqueueMarkRead(db, ids.slice(2), 'bob', 2); // queued while the request is in flight
    await store.applyAckResults(batch, batch.map((r) => ({ m: r.messageId, s: 'accepted' as const })));
    expect((await db.outbox.toArray()).map((r) => ('messageId' in r ? r.messageId : r.key))).toEqual(ids.slice(2));
    expect(await ackStatuses(db, ids)).toEqual(['sent', 'sent', 'pending', 'pending']);
  });

  it('a confirmed ack answered again as refused (a late reply to an old try) stays sent', async () => {
    const { db, ids, store } = await setup(1);
    await enqueueMarkRead(db, ids, 'bob', 1);
    const batch = await store.readAcks(10);
    await store.applyAckResults(batch, [{ m: ids[0]!, s: 'accepted' }]);
    await store.applyAckResults(batch, [{ m: ids[0]!, s: 'rejected', r: 'not-member' }]);
    expect(await ackStatuses(db, ids)).toEqual(['sent']);
  });

  it('answers applied at the same time each count what they answered and all land', async () => {
    const { db, ids, store } = await setup(9);
    await enqueueMarkRead(db, ids, 'bob', 1);
    const rows = await store.readAcks(9);
    const parts = [rows.slice(0, 3), rows.slice(3, 6), rows.slice(6)];
    // not awaited one by one: the later ones queue behind the first transaction and share one
    const counts = await Promise.all(
      parts.map((part, k) => store.applyAckResults(part, part.slice(0, 3 - k).map((r) => ({ m: r.messageId, s: 'accepted' as const })))),
    );
    expect(counts).toEqual([3, 2, 1]);
    expect((await db.outbox.toArray()).map((r) => ('messageId' in r ? r.messageId : r.key))).toEqual([ids[5], ids[7], ids[8]]);
  });

  it('a refusal queued right behind a confirmation of the same ack still finds it confirmed', async () => {
    const { db, ids, store } = await setup(1);
    await enqueueMarkRead(db, ids, 'bob', 1);
    const batch = await store.readAcks(10);
    await Promise.all([
      store.applyAckResults(batch, [{ m: ids[0]!, s: 'accepted' }]),
      store.applyAckResults(batch, [{ m: ids[0]!, s: 'rejected', r: 'not-member' }]),
    ]);
    expect(await ackStatuses(db, ids)).toEqual(['sent']);
  });

  it('never hands out an ack key twice, even after the outbox emptied', async () => {
    const { db, ids, store } = await setup(3);
    await enqueueMarkRead(db, [ids[0]!], 'bob', 1);
    const first = await store.readAcks(10);
    await store.applyAckResults(first, [{ m: ids[0]!, s: 'accepted' }]);
    expect(await db.outbox.count()).toBe(0);
    await enqueueMarkRead(db, [ids[1]!, ids[2]!], 'bob', 2);
    const next = await store.readAcks(10);
    const seqs = [...first, ...next].map((r) => ackSeqOf(r.key));
    expect(seqs.every(Number.isSafeInteger)).toBe(true);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(3);
  });
});
