import { describe, expect, it } from 'vitest';
import { advance, hangingTransport, markRead, openTab, runTimersUntil, storeDelivered, World, trackTabs } from './harness';
import { ackStatuses } from '../harness';

describe('Flusher: worker crash mid-flush', () => {
  const tabs = trackTabs();

  it('the server applied a batch, the worker died before the reply: a new worker resends, nothing lost, nothing counted twice', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(250);
    const ids = messages.map((m) => m.id);
    const net = world.transport('bob');
    const hanging = hangingTransport(net);
    const first = await openTab(world, 'bob', { transport: hanging, flush: { ackBatchSize: 100 } });
    await storeDelivered(first.db, messages);
    await markRead(first.db, ids);
    hanging.hangNext(1, true); // batch 1 reaches the server; its reply never comes back
    first.flusher.notifyEnqueued();
    await runTimersUntil(() => net.count('ackBatch') >= 1);
    expect(world.readersOf(ids[0]!)).toEqual(['bob']); // applied on the server…
    expect(new Set(await ackStatuses(first.db, ids.slice(0, 100)))).toEqual(new Set(['pending'])); // …but not confirmed locally
    first.db.close(); // the worker is terminated: no stop(), its lease stays until it expires
    const sentBefore = net.log.filter((e) => e.kind === 'ackBatch').length;

    const second = await openTab(world, 'bob', { flush: { ackBatchSize: 100 } });
    tabs.push(second);
    await advance(12_000);
    await second.flusher.whenIdle();

    expect(second.flusher.getStatus().leader).toBe(true);
    expect(await second.db.outbox.count()).toBe(0);
    const counts = await world.readCount(ids);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(ids.every((id) => world.readersOf(id).length === 1)).toBe(true);
    expect(new Set(await ackStatuses(second.db, ids))).toEqual(new Set(['sent']));
    // The resent first batch carried the same content-derived id: the server replayed its stored result.
    const batchIds = net.log.filter((e) => e.kind === 'ackBatch').map((e) => (e.request as { batchId: string }).batchId);
    expect(batchIds.slice(sentBefore)).toContain(batchIds[0]);
  });

  it('reply lost after the server applied it, then a reload: duplicates are harmless', async () => {
    const world = await World.create(['bob', 'carol']);
    const messages = await world.post(20);
    const ids = messages.map((m) => m.id);
    const net = world.transport('bob');
    let tab = await openTab(world, 'bob', { random: () => 0.9 });
    await storeDelivered(tab.db, messages);
    await markRead(tab.db, ids.slice(0, 10));
    net.dropReplyNext('ackBatch', 1);
    await tab.flusher.flush();
    expect(net.log.at(-1)?.outcome).toBe('dropped');
    expect(await tab.db.outbox.count()).toBe(10);
    // The page reloads during the backoff: stop, close, open again.
    await tab.flusher.stop();
    tab.db.close();
    tab = await openTab(world, 'bob');
    tabs.push(tab);
    await markRead(tab.db, ids.slice(5, 20)); // the first five of these are already queued: coalesced
    await tab.flusher.flush();
    expect(await tab.db.outbox.count()).toBe(0);
    const counts = await world.readCount(ids);
    expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 1));
  });
});
