import { describe, expect, it } from 'vitest';
import { advance, markRead, openTab, settle, storeDelivered, World, trackTabs } from './harness';
import { ackStatus, ackStatuses } from '../harness';
import type { Transport } from '../../../worker/transport/Transport';

describe('Flusher: offline queue, then batched flush', () => {
  const tabs = trackTabs();

  it('offline → 617 markRead calls (1,234 acks) → online: ⌈1234/100⌉ ack requests, every ack counted once, outbox empty', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(1234);
    const tab = await openTab(world, 'bob', { flush: { ackBatchSize: 100 } });
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    const net = world.transport('bob');

    net.setOffline(true);
    tab.flusher.setOnline(false);
    // Many small markRead calls (1-3 messages, as a viewport reports them), interleaved with time passing.
    let calls = 0;
    for (let i = 0; i < messages.length; ) {
      const n = 1 + (calls % 3);
      const ids = messages.slice(i, i + n).map((m) => m.id);
      expect(await markRead(tab.db, ids)).toBe(ids.length);
      tab.flusher.notifyEnqueued();
      i += n;
      if (++calls % 100 === 0) await advance(100);
    }
    await advance(1000);
    expect(net.count('ackBatch')).toBe(0); // the offline signal holds the debounced flushes back
    expect(await tab.db.outbox.count()).toBe(1234);
    expect(tab.flusher.getStatus().connection).toBe('offline');

    net.setOffline(false);
    tab.flusher.setOnline(true);
    await tab.flusher.whenIdle();
    await settle();

    expect(net.count('ackBatch')).toBe(13);
    expect(net.log.filter((e) => e.kind === 'ackBatch').every((e) => e.outcome === 'ok')).toBe(true);
    expect(await tab.db.outbox.count()).toBe(0);
    const counts = await world.readCount(messages.map((m) => m.id));
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(counts.size).toBe(1234);
    expect(messages.every((m) => world.readersOf(m.id).join() === 'bob')).toBe(true);
    expect(new Set(await ackStatuses(tab.db, messages.map((m) => m.id)))).toEqual(new Set(['sent']));
    expect(tab.flusher.getStatus()).toMatchObject({ connection: 'online', flushing: false, lastError: null, leader: true });
  });

  it('a burst of markRead calls is coalesced by the debounce into one request', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(30);
    const tab = await openTab(world, 'bob');
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    for (const m of messages) {
      await markRead(tab.db, [m.id]);
      tab.flusher.notifyEnqueued();
    }
    expect(world.transport('bob').count('ackBatch')).toBe(0);
    await advance(50, 50);
    await tab.flusher.whenIdle();
    expect(world.transport('bob').count('ackBatch')).toBe(1);
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('the default ack batch is the server limit (500): 1,001 acks take 3 requests', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(1001);
    const tab = await openTab(world, 'bob', { start: false });
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    await markRead(
      tab.db,
      messages.map((m) => m.id),
    );
    await tab.flusher.start(); // leftovers are flushed on start
    await tab.flusher.whenIdle();
    const sizes = world
      .transport('bob')
      .log.filter((e) => e.kind === 'ackBatch')
      .map((e) => (e.request as { acks: unknown[] }).acks.length);
    expect(sizes).toEqual([500, 500, 1]);
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('a read enqueued by a tab that is not the leader is flushed by the leader after its debounce', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(2);
    const leader = await openTab(world, 'bob');
    const other = await openTab(world, 'bob');
    tabs.push(leader, other);
    expect([leader.flusher.getStatus().leader, other.flusher.getStatus().leader]).toEqual([true, false]);
    await storeDelivered(other.db, messages);
    await markRead(other.db, [messages[0]!.id]);
    other.flusher.notifyEnqueued();
    await settle();
    await advance(50, 50);
    await leader.flusher.whenIdle();
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    expect(await other.db.outbox.count()).toBe(0);
    expect(await ackStatus(other.db, messages[0]!.id)).toBe('sent');
  });

  it('triggers: leftovers flush when the page becomes visible, or when another request shows the network is back', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(2);
    const tab = await openTab(world, 'bob', { flush: { intervalMs: 600_000 } });
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    const net = world.transport('bob');

    await markRead(tab.db, [messages[0]!.id]); // queued without a notification (e.g. a tab that died right after)
    await advance(5_000);
    expect(net.count('ackBatch')).toBe(0);
    tab.flusher.setVisible(true);
    await tab.flusher.whenIdle();
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);

    // The event stream (another request) failed: offline. Its reconnection brings the queue out at once.
    tab.flusher.noteConnection(false);
    expect(tab.flusher.getStatus().connection).toBe('offline');
    await markRead(tab.db, [messages[1]!.id]);
    tab.flusher.noteConnection(true);
    await tab.flusher.whenIdle();
    expect(world.readersOf(messages[1]!.id)).toEqual(['bob']);
    expect(tab.flusher.getStatus().connection).toBe('online');
  });
});

describe('Flusher: ack requests in flight', () => {
  const tabs = trackTabs();

  it('keeps three ack requests on the wire at once, never more, and every ack still counts once', async () => {
    const world = await World.create(['bob']);
    const messages = await world.post(1000);
    const net = world.transport('bob');
    let open = 0;
    let most = 0;
    // Each answer takes a few event-loop turns, so a sequential sender would never overlap two.
    const slow: Transport = Object.assign(Object.create(net) as Transport, {
      async ackBatch(req: Parameters<Transport['ackBatch']>[0]) {
        most = Math.max(most, ++open);
        try {
          for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
          return await net.ackBatch(req);
        } finally {
          open--;
        }
      },
    });
    const tab = await openTab(world, 'bob', { transport: slow, flush: { ackBatchSize: 100 } });
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    await markRead(tab.db, messages.map((m) => m.id));
    await tab.flusher.flush();

    expect(net.count('ackBatch')).toBe(10);
    expect(most).toBe(3);
    expect(await tab.db.outbox.count()).toBe(0);
    const counts = await world.readCount(messages.map((m) => m.id));
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
  });
});
