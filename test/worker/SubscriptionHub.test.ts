import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MessageReceipt } from '../../src/protocol';
import { unpackUpdates, type ReadState, type SubscriptionUpdate } from '../../src/bridge';
import { ReadSyncDb, type MessageRow } from '../../worker/db/ReadSyncDb';
import { SubscriptionHub } from '../../worker/SubscriptionHub';
import { applyReceipts } from '../../worker/store/applyReceipts';
import { mid } from './harness';

const dbs: ReadSyncDb[] = [];
const hubs: SubscriptionHub[] = [];
afterEach(() => {
  hubs.splice(0).forEach((h) => h.close());
  dbs.splice(0).forEach((d) => d.close());
});

const mine = (n: number): MessageRow => ({
  id: mid(n),
  convId: 'team',
  convType: 'group',
  senderId: 'alice',
  text: 'x',
  needReadReceipt: true,
  createdAt: 1,
  seq: n,
  sentAt: 10,
  audienceCount: 4,
  status: 'sent',
  ackStatus: 'none',
  pos: n,
});
const receipt = (n: number, readCount: number): MessageReceipt => ({
  convId: 'team',
  convType: 'group',
  messageId: mid(n),
  timestamp: readCount,
  isPeerRead: false,
  readCount,
  unreadCount: 4 - readCount,
});

/** A hub over one of two Dexie instances of one database, ticking only when the test says so. */
async function setup() {
  const idb = new IDBFactory();
  const a = new ReadSyncDb('shared', { indexedDB: idb, IDBKeyRange });
  const b = new ReadSyncDb('shared', { indexedDB: idb, IDBKeyRange });
  dbs.push(a, b);
  await a.messages.bulkPut([mine(1), mine(2)]);
  const queue: (() => void)[] = [];
  const hub = new SubscriptionHub(a, 'alice', (fn) => queue.push(fn));
  hubs.push(hub);
  const updates: SubscriptionUpdate[][] = [];
  hub.attach((batch) => void updates.push(unpackUpdates(batch)));
  /** Runs scheduled work until the hub is quiet. */
  const tick = async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 0));
      const fns = queue.splice(0);
      fns.forEach((f) => f());
      await hub.idle().catch(() => undefined);
      if (queue.length === 0 && fns.length === 0) return;
    }
  };
  const latest = (id: number) => {
    for (let i = updates.length - 1; i >= 0; i--) {
      const u = updates[i]?.find((x) => x.id === id);
      if (u) return u.value as ReadState;
    }
    return undefined;
  };
  return { a, b, hub, updates, tick, latest };
}

describe('SubscriptionHub', () => {
  it('posts once per tick, the latest value per subscription', async () => {
    const { a, hub, updates, tick, latest } = await setup();
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }, { id: 2, query: { kind: 'read-state', messageId: mid(2) } }]);
    await tick();
    expect(updates).toHaveLength(1);
    for (let r = 1; r <= 3; r++) hub.prime('receipts', await applyReceipts(a, [receipt(1, r), receipt(2, r)]));
    await tick();
    expect(updates).toHaveLength(2);
    expect(updates[1]?.map((u) => u.id).sort()).toEqual([1, 2]);
    expect(latest(1)?.label).toBe('3 read · 1 unread');
  });

  it('uses rows this worker just wrote instead of reading them back', async () => {
    const { a, hub, tick, latest } = await setup();
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }]);
    await tick();
    const written = await applyReceipts(a, [receipt(1, 2)]);
    const reads = vi.spyOn(a.receipts, 'bulkGet');
    hub.prime('receipts', written);
    await tick();
    expect(latest(1)?.readCount).toBe(2);
    expect(reads).not.toHaveBeenCalled();
  });

  it('a write by another instance after priming wins over the primed row', async () => {
    const { a, b, hub, tick, latest } = await setup();
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }]);
    await tick();
    hub.prime('receipts', await applyReceipts(a, [receipt(1, 1)]));
    await applyReceipts(b, [receipt(1, 3)]); // another tab, before our tick ran
    await tick();
    expect(latest(1)?.readCount).toBe(3);
  });

  it('a row primed without its change notification is ignored', async () => {
    const { hub, tick, latest } = await setup();
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }]);
    await tick();
    hub.prime('receipts', [receipt(1, 4)]); // never written
    await tick();
    expect(latest(1)?.readCount).toBe(0);
  });

  it('previews server receipts before they are stored, and a stale read never takes the state back', async () => {
    const { a, b, hub, tick, latest } = await setup();
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }, { id: 2, query: { kind: 'read-state', messageId: mid(2) } }]);
    await tick();
    hub.preview([receipt(1, 3), receipt(9, 1)]);
    await tick();
    expect(latest(1)?.label).toBe('3 read · 1 unread');
    expect(await a.receipts.get(mid(1))).toBeUndefined();
    // An older state lands in the store (another tab was behind): the live state stays.
    await applyReceipts(b, [receipt(1, 1)]);
    await tick();
    expect(latest(1)?.readCount).toBe(3);
    // A preview that adds nothing posts nothing.
    const before = latest(2);
    hub.preview([receipt(1, 2)]);
    await tick();
    expect(latest(1)?.readCount).toBe(3);
    expect(latest(2)).toBe(before);
  });

  it('posts previews and ticks without a timer, also when scheduled from inside the previous post', async () => {
    // The default scheduler: a nested setTimeout(0) is clamped to 4 ms in browsers, so the hub must not use one.
    const idb = new IDBFactory();
    const db = new ReadSyncDb('solo', { indexedDB: idb, IDBKeyRange });
    dbs.push(db);
    await db.messages.bulkPut([mine(1), mine(2)]);
    const hub = new SubscriptionHub(db, 'alice');
    hubs.push(hub);
    const seen: SubscriptionUpdate[][] = [];
    let onPost: () => void = () => undefined;
    hub.attach((batch) => {
      seen.push(unpackUpdates(batch));
      onPost();
    });
    hub.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }, { id: 2, query: { kind: 'read-state', messageId: mid(2) } }]);
    await hub.idle();
    expect(seen).toHaveLength(1);
    // From here no timer ever fires: whatever arrives came through another kind of task.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    try {
      let timerFired = false;
      setTimeout(() => (timerFired = true), 0);
      // The second preview is made inside the first post, as a busy page makes nested schedules.
      onPost = () => {
        onPost = () => undefined;
        hub.preview([receipt(2, 2)]);
      };
      hub.preview([receipt(1, 1)]);
      await new Promise<void>((resolve) => {
        const spin = () => (seen.length >= 3 ? resolve() : setImmediate(spin));
        setImmediate(spin);
      });
      expect(timerFired).toBe(false);
      expect(seen[1]?.map((u) => [u.id, (u.value as ReadState).readCount])).toEqual([[1, 1]]);
      expect(seen[2]?.map((u) => [u.id, (u.value as ReadState).readCount])).toEqual([[2, 2]]);
      // A stored change takes a tick (a read from the store), which is no timer either.
      await applyReceipts(db, [receipt(1, 3)]);
      await new Promise<void>((resolve) => {
        const spin = () => (seen.length >= 4 ? resolve() : setImmediate(spin));
        setImmediate(spin);
      });
      expect(seen[3]?.map((u) => [u.id, (u.value as ReadState).readCount])).toEqual([[1, 3]]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('SubscriptionHub row cache (first values without a read)', () => {
  const sub = (id: number, n: number) => ({ id, query: { kind: 'read-state' as const, messageId: mid(n) } });

  it('a new subscription to a message this worker just stored, or showed before, is answered without reading it', async () => {
    const { a, hub, tick, latest } = await setup();
    // Stored by this worker (its notification arrives, then the rows are handed over, as the engine does).
    const stored = [mine(3), mine(4)];
    await a.messages.bulkPut(stored);
    hub.prime('messages', stored);
    hub.prime('receipts', await applyReceipts(a, [receipt(3, 2), receipt(4, 1)]));
    await tick();
    hub.subscribe([sub(1, 1)]);
    await tick(); // mid(1) read from the store once
    const msgReads = vi.spyOn(a.messages, 'bulkGet');
    const msgScans = vi.spyOn(a.messages, 'toArray');
    const rcReads = vi.spyOn(a.receipts, 'bulkGet');
    hub.subscribe([sub(2, 3), sub(3, 4), sub(4, 1)]);
    await tick();
    expect([latest(2)?.readCount, latest(3)?.readCount, latest(4)?.messageId]).toEqual([2, 1, mid(1)]);
    expect(msgReads).not.toHaveBeenCalled();
    expect(msgScans).not.toHaveBeenCalled();
    expect(rcReads).not.toHaveBeenCalled();
  });

  it('a change by another instance (another tab) drops the cached row: a later subscription shows the change', async () => {
    const { b, hub, tick, latest } = await setup();
    hub.subscribe([sub(1, 1)]);
    await tick();
    hub.unsubscribe([1]);
    await tick();
    await applyReceipts(b, [receipt(1, 3)]);
    await b.messages.update(mid(1), { text: 'edited elsewhere' });
    await tick();
    hub.subscribe([sub(2, 1)]);
    await tick();
    expect(latest(2)?.readCount).toBe(3);
    // A whole-table change (a bulk write of 50 or more rows) empties the cache too.
    await b.receipts.bulkPut(Array.from({ length: 60 }, (_, i) => ({ ...receipt(1, 4), messageId: i === 0 ? mid(1) : mid(100 + i) })));
    await tick();
    hub.unsubscribe([2]);
    hub.subscribe([sub(3, 1)]);
    await tick();
    expect(latest(3)?.readCount).toBe(4);
  });

  it('a row handed over without its change notification is not cached', async () => {
    const { hub, tick, latest } = await setup();
    hub.prime('messages', [{ ...mine(1), text: 'never written' }]);
    hub.prime('receipts', [receipt(1, 4)]);
    hub.subscribe([sub(1, 1)]);
    await tick();
    expect(latest(1)?.readCount).toBe(0);
  });
});
