import { describe, expect, it } from 'vitest';
import { createLeaderLock } from '../../../worker/outbox/LeaderLock';
import { LeaseLeaderLock } from '../../../worker/outbox/LeaseLeaderLock';
import { WebLocksLeaderLock, type LockManagerLike } from '../../../worker/outbox/WebLocksLeaderLock';
import { advance, markRead, openTab, settle, storeDelivered, timedTransport, World, trackTabs } from './harness';
import { ackStatus } from '../harness';

/** An exclusive in-memory LockManager with the Web Locks semantics we rely on (queue, ifAvailable, signal). */
class FakeLocks implements LockManagerLike {
  private held = new Set<string>();
  private waiters = new Map<string, (() => void)[]>();
  async request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<T> | T): Promise<T> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve, reject) => {
        const list = this.waiters.get(name) ?? [];
        this.waiters.set(name, list);
        list.push(resolve);
        options.signal?.addEventListener('abort', () => {
          list.splice(list.indexOf(resolve), 1);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    }
    this.held.add(name);
    try {
      return await callback({ name });
    } finally {
      this.held.delete(name);
      this.waiters.get(name)?.shift()?.();
    }
  }
}

describe('leader election: one flusher per database', () => {
  const tabs = trackTabs();

  it('two workers on one database: only the leader sends; the other takes over when the first stops', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(4);
    const netA = timedTransport(world.transport('bob'));
    const netB = timedTransport(world.transport('bob'));
    const a = await openTab(world, 'bob', { transport: netA });
    const b = await openTab(world, 'bob', { transport: netB });
    tabs.push(a, b);
    expect([a.flusher.getStatus().leader, b.flusher.getStatus().leader]).toEqual([true, false]);

    await storeDelivered(a.db, messages);
    await markRead(b.db, [messages[0]!.id]);
    b.flusher.notifyEnqueued();
    await b.flusher.flush(); // not the leader: does nothing
    await settle();
    await advance(100, 50);
    await a.flusher.whenIdle();
    expect(netB.times.ackBatch).toBeUndefined();
    expect(netA.times.ackBatch).toHaveLength(1);
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    // Both see the same state: it is one database.
    expect(await ackStatus(b.db, messages[0]!.id)).toBe('sent');

    // The leader's tab closes; a read queued in the meantime is sent by the survivor.
    await markRead(a.db, [messages[1]!.id]);
    await a.flusher.stop();
    expect(a.flusher.getStatus().leader).toBe(false);
    await advance(2_000);
    expect(b.flusher.getStatus().leader).toBe(true);
    await b.flusher.whenIdle();
    expect(netB.times.ackBatch).toHaveLength(1);
    expect(world.readersOf(messages[1]!.id)).toEqual(['bob']);
    expect(await b.db.outbox.count()).toBe(0);
  });

  it('a leader that dies without letting go is replaced once its lease expires', async () => {
    const world = await World.create(['bob']);
    const [m] = await world.post(1);
    const a = await openTab(world, 'bob');
    const b = await openTab(world, 'bob');
    tabs.push(b);
    a.db.close(); // the worker is gone: no stop(), no release
    await storeDelivered(b.db, [m!]);
    await markRead(b.db, [m!.id]);
    await advance(8_000);
    expect(b.flusher.getStatus().leader).toBe(false); // the lease (10 s) is still valid
    await advance(4_000);
    expect(b.flusher.getStatus().leader).toBe(true);
    await b.flusher.whenIdle();
    expect(world.readersOf(m!.id)).toEqual(['bob']);
  });

  it('many contenders starting, stopping and dying: never two leaders at once', async () => {
    const world = await World.create(['bob']);
    const db = world.openDb('bob');
    await db.open();
    const locks: { lock: LeaseLeaderLock; db: typeof db }[] = [];
    const leaders = () => locks.filter((l) => l.lock.leader).length;
    for (let round = 0; round < 12; round++) {
      const own = world.openDb('bob');
      const lock = new LeaseLeaderLock(own, { ttlMs: 3_000, renewMs: 1_000, now: () => Date.now() });
      await lock.start(() => {});
      locks.push({ lock, db: own });
      for (let i = 0; i < 10; i++) {
        await advance(400, 200);
        expect(leaders()).toBeLessThanOrEqual(1);
      }
      const victim = locks[round % locks.length]!;
      if (round % 3 === 0) victim.db.close(); // dies
      else await victim.lock.stop();
    }
    await advance(5_000);
    expect(leaders()).toBeLessThanOrEqual(1);
    for (const l of locks) {
      await l.lock.stop();
      l.db.close();
    }
    db.close();
  });

  it('a lease that lapsed while the event loop was blocked is a new term when renewed: the flusher resumes', async () => {
    const world = await World.create(['bob']);
    const db = world.openDb('bob');
    await db.open();
    let t = Date.now();
    const changes: boolean[] = [];
    const lock = new LeaseLeaderLock(db, { ttlMs: 3_000, renewMs: 1_000, now: () => t });
    await lock.start((l) => changes.push(l));
    expect(lock.leader).toBe(true);
    t += 5_000; // no renewal happened for longer than the lease
    expect(lock.leader).toBe(false);
    await lock.tick();
    expect(lock.leader).toBe(true);
    expect(changes).toEqual([true, true]);
    await lock.stop();
    db.close();
  });

  it('Web Locks: the second worker queues and is granted the lock when the first lets go', async () => {
    const locks = new FakeLocks();
    const changes: string[] = [];
    const a = new WebLocksLeaderLock(locks, 'readsync-flush:x');
    const b = new WebLocksLeaderLock(locks, 'readsync-flush:x');
    await a.start((l) => changes.push(`a:${l}`));
    await b.start((l) => changes.push(`b:${l}`));
    expect([a.leader, b.leader]).toEqual([true, false]);
    await a.stop();
    await settle(3);
    expect([a.leader, b.leader]).toEqual([false, true]);
    await b.stop();
    expect(changes).toEqual(['a:true', 'a:false', 'b:true', 'b:false']);
  });

  it('uses navigator.locks when the platform has it, the lease row otherwise', async () => {
    const world = await World.create(['bob']);
    const db = world.openDb('bob');
    expect(createLeaderLock(db, { locks: new FakeLocks() })).toBeInstanceOf(WebLocksLeaderLock);
    expect(createLeaderLock(db, { locks: null })).toBeInstanceOf(LeaseLeaderLock);
    expect(createLeaderLock(db)).toBeInstanceOf((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks ? WebLocksLeaderLock : LeaseLeaderLock);
  });
});
