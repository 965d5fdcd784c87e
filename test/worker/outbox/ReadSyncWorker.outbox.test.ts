import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { unpackUpdates, type SyncStatus } from '../../../src/bridge';
import { ReadSyncWorker } from '../../../worker/ReadSyncWorker';
import { openTab, runTimersUntil, settle, useFakeClock, World, type Tab } from './harness';

/** The whole path: ReadSyncWorker.markRead (durable enqueue) → its Flusher → MemoryTransport → the server's rules. */
describe('ReadSyncWorker + Flusher: offline reads reach the server once', () => {
  const workers: ReadSyncWorker[] = [];
  const tabs: Tab[] = [];
  beforeEach(() => useFakeClock());
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
    for (const t of tabs.splice(0)) {
      await t.flusher.stop();
      t.db.close();
    }
    vi.useRealTimers();
  });

  async function worker(world: World, user: string) {
    const w = new ReadSyncWorker({
      db: world.openDb(user),
      transport: world.transport(user),
      userId: user,
      sync: false,
      now: () => Date.now(),
      random: () => 0.5,
      flush: { ackBatchSize: 50 },
      flusherDeps: { kick: null },
      schedule: (fn) => queueMicrotask(fn),
    });
    workers.push(w);
    await w.start();
    return w;
  }

  it('offline → 300 markRead calls → online: 6 requests of 50, every read counted once, outbox empty', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(300);
    const net = world.transport('bob');
    const bob = await worker(world, 'bob');
    await bob.receiveMessages(messages);
    net.setOffline(true);
    await bob.setEnvironment({ online: false });

    for (const m of messages) expect(await bob.markRead([m.id])).toMatchObject({ queued: 1 });
    expect(await bob.markRead(messages.slice(0, 10).map((m) => m.id))).toMatchObject({ queued: 0, alreadyRead: 10 });
    const reached = () => net.log.filter((e) => e.kind === 'ackBatch' && e.outcome !== 'offline').length;
    await runTimersUntil(() => false, 20); // debounces and timers pass (the slow timer probes and fails)
    expect(reached()).toBe(0);
    const db = world.openDb('bob');
    expect(await db.outbox.count()).toBe(300);

    net.setOffline(false);
    await bob.setEnvironment({ online: true });
    await runTimersUntil(() => reached() >= 6);
    await bob.flush();
    await settle();
    expect(reached()).toBe(6);
    expect(net.log.filter((e) => e.kind === 'ackBatch' && e.outcome === 'ok').map((e) => (e.request as { acks: unknown[] }).acks.length)).toEqual([50, 50, 50, 50, 50, 50]);
    expect(await db.outbox.count()).toBe(0);
    const counts = await world.readCount(messages.map((m) => m.id));
    expect(messages.every((m) => counts.get(m.id) === 1)).toBe(true);
    db.close();
  });

  it('a worker and a plain flusher on one database: one leader; the worker sees the reads the other sent', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(3);
    const other = await openTab(world, 'bob'); // first: the leader
    tabs.push(other);
    const bob = await worker(world, 'bob');
    await bob.receiveMessages(messages);
    const sub: SyncStatus[] = [];
    await bob.attach((batch) => {
      for (const u of unpackUpdates(batch)) sub.push(u.value as SyncStatus);
    });
    await bob.subscribe([{ id: 1, query: { kind: 'sync-status' } }]);
    await bob.markRead(messages.map((m) => m.id));
    await runTimersUntil(() => world.readersOf(messages[2]!.id).length === 1, 100);
    await settle();
    expect(messages.map((m) => world.readersOf(m.id))).toEqual([['bob'], ['bob'], ['bob']]);
    expect(sub.at(-1)).toMatchObject({ leader: false, pendingAcks: 0 });
  });
});
