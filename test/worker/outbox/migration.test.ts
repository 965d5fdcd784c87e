import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { ReadSyncDb } from '../../../worker/db/ReadSyncDb';
import { openTab, World, trackTabs } from './harness';
import { ackStatuses } from '../harness';
import { OutboxStore } from '../../../worker/outbox/OutboxStore';
import { ackKey } from '../../../worker/db/ackKeys';
import { IDBKeyRange } from 'fake-indexeddb';

/** Schema version 1 exactly as it shipped (frozen here on purpose: never update it to the current schema). */
const V1_STORES = {
  messages: 'id, [convId+pos], ackStatus, status',
  receipts: 'messageId, convId',
  conversations: 'id',
  outbox: 'key, [kind+enqueuedAt], convId',
  memberPages: 'key, messageId',
  meta: 'key',
};

describe('a database written by schema version 1', () => {
  const tabs = trackTabs();

  it('opens with the current schema and flushes its pending acks and messages', async () => {
    const world = await World.create(['bob']);
    const incoming = await world.post(4);
    const flushedByV1 = incoming.pop()!; // read and confirmed under v1: stored 'sent', no outbox row
    const now = Date.now();

    const old = new Dexie('readsync-bob', { indexedDB: world.idb, IDBKeyRange });
    old.version(1).stores(V1_STORES);
    await old.table('messages').bulkPut([
      ...incoming.map((m) => ({ ...m, createdAt: m.sentAt, status: 'sent', ackStatus: 'pending', readAt: now, pos: m.seq })),
      { ...flushedByV1, createdAt: flushedByV1.sentAt, status: 'sent', ackStatus: 'sent', readAt: now, pos: flushedByV1.seq },
      {
        id: 'mine00000001', convId: 'team', convType: 'group', senderId: 'bob', text: 'written offline by v1', needReadReceipt: true,
        createdAt: now, seq: null, sentAt: null, audienceCount: null, status: 'pending', ackStatus: 'none', pos: 2 ** 52 + now,
      },
    ]);
    await old.table('outbox').bulkPut([
      // enqueued in the reverse of id order: the upgrade must keep enqueue order, not key order
      ...incoming.map((m, i) => ({ key: `ack:${m.id}`, kind: 'ack', messageId: m.id, convId: 'team', enqueuedAt: now + incoming.length - i, readAt: now, attempts: 0 })),
      {
        key: 'msg:mine00000001', kind: 'message', messageId: 'mine00000001', convId: 'team', enqueuedAt: now, attempts: 2,
        message: { id: 'mine00000001', convId: 'team', text: 'written offline by v1', needReadReceipt: true, createdAt: now },
      },
    ]);
    await old.table('meta').put({ key: 'userId', value: 'bob' });
    expect(old.verno).toBe(1);
    old.close();

    // Upgraded, before anything flushes: acks re-keyed in enqueue order, each message linked to its ack.
    const upgraded = world.openDb('bob');
    const queue = await new OutboxStore(upgraded).readAcks(10);
    expect(queue.map((r) => r.messageId)).toEqual([...incoming].reverse().map((m) => m.id));
    const linked = await upgraded.messages.bulkGet(queue.map((r) => r.messageId));
    expect(linked.map((m) => m && ackKey(m.ackSeq ?? 0))).toEqual(queue.map((r) => r.key));
    expect(await ackStatuses(upgraded, [...incoming.map((m) => m.id), flushedByV1.id])).toEqual(['pending', 'pending', 'pending', 'sent']);
    // my own message that wants receipts joins the sparse index the receipt refresh reads; others' do not
    expect((await upgraded.messages.where('ownWithReceipts').equals(1).primaryKeys()).sort()).toEqual(['mine00000001']);
    upgraded.close();

    const tab = await openTab(world, 'bob');
    tabs.push(tab);
    expect(tab.db.verno).toBe(new ReadSyncDb('probe').verno);
    await tab.flusher.whenIdle(); // start() flushes leftovers

    expect(await tab.db.outbox.count()).toBe(0);
    for (const m of incoming) expect(world.readersOf(m.id)).toEqual(['bob']);
    expect(await ackStatuses(tab.db, [...incoming.map((m) => m.id), flushedByV1.id])).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(await tab.db.messages.get('mine00000001')).toMatchObject({ status: 'sent', audienceCount: 1 });
    expect(await tab.db.receipts.get('mine00000001')).toMatchObject({ readCount: 0, unreadCount: 1 });
  });
});
