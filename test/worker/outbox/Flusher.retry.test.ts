import { describe, expect, it, vi } from 'vitest';
import { AuthError, TransientError } from '../../../src/protocol';
import { T0, advance, hangingTransport, markRead, openTab, runTimersUntil, sequence, settle, storeDelivered, timedTransport, World, trackTabs } from './harness';
import { ackStatus, ackStatuses } from '../harness';
import { ackKey } from '../../../worker/db/ackKeys';
import type { AckOutboxRow } from '../../../worker/db/ReadSyncDb';
import { reserveAckSeqs } from '../../../worker/store/meta';

const serverError = () => new TransientError('server', 'HTTP 503 Service Unavailable', { status: 503 });

describe('Flusher: retries and rejections', () => {
  const tabs = trackTabs();

  async function setup(options: { random?: () => number; hang?: boolean } = {}) {
    const world = await World.create(['bob']);
    const messages = await world.post(5);
    const net = world.transport('bob');
    const hanging = hangingTransport(net);
    const timed = timedTransport(hanging);
    const tab = await openTab(world, 'bob', { transport: timed, random: options.random ?? (() => 0.5) });
    tabs.push(tab);
    await storeDelivered(tab.db, messages);
    return { world, messages, net, hanging, times: timed.times, tab };
  }

  it('5xx: exponential backoff with full jitter (base 1 s), reset after a success', async () => {
    const { world, messages, net, times, tab } = await setup({ random: sequence(0.5, 0.25, 0.999, 0.1, 0.75) });
    net.failNext('ackBatch', serverError, 4);
    await markRead(tab.db, [messages[0]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 5);
    // Delays: 0.5·1000, 0.25·2000, 0.999·4000, 0.1·8000 (floor) after the debounce of 50 ms.
    expect(times.ackBatch).toEqual([50, 550, 1050, 5046, 5846]);
    await tab.flusher.whenIdle();
    expect(await tab.db.outbox.count()).toBe(0);
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    expect(tab.flusher.getStatus()).toMatchObject({ lastError: null, connection: 'online' });
    // While retrying, the status showed the server error.
    expect(tab.statuses.some((s) => s.lastError?.code === 'server' && s.lastError.status === 503)).toBe(true);

    // A success resets the backoff: the next failure waits 0.75·1000 again, not 0.75·16000.
    net.failNext('ackBatch', serverError, 1);
    await markRead(tab.db, [messages[1]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => times.ackBatch!.length >= 7);
    const [a, b] = times.ackBatch!.slice(5);
    expect(b! - a!).toBe(750);
  });

  it('the backoff is capped at 60 s', async () => {
    const { net, times, tab, messages } = await setup({ random: () => 0.999 });
    net.failNext('ackBatch', serverError, 9);
    await markRead(tab.db, [messages[0]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 10);
    const gaps = times.ackBatch!.slice(1).map((t, i) => t - times.ackBatch![i]!);
    expect(gaps).toEqual([999, 1998, 3996, 7992, 15984, 31968, 59940, 59940, 59940]);
    await tab.flusher.whenIdle();
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('429 with Retry-After: nothing is sent before the server said, even when new reads arrive or the network comes back', async () => {
    const { net, times, tab, messages, world } = await setup({ random: () => 0.5 });
    net.failNext('ackBatch', () => new TransientError('rate-limited', 'HTTP 429', { status: 429, retryAfterMs: 5000 }), 1);
    await markRead(tab.db, [messages[0]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 1);
    expect(times.ackBatch).toEqual([50]);
    await advance(1000, 50);
    await markRead(tab.db, [messages[1]!.id]);
    tab.flusher.notifyEnqueued();
    tab.flusher.setOnline(true);
    tab.flusher.setVisible(true);
    await runTimersUntil(() => times.ackBatch!.length >= 2);
    // Jitter alone would give 500 ms; Retry-After makes it 5 s.
    expect(times.ackBatch).toEqual([50, 5050]);
    await tab.flusher.whenIdle();
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    expect(world.readersOf(messages[1]!.id)).toEqual(['bob']);
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('timeouts: a request that never answers counts as a network failure after 30 s and is retried; applied-but-unanswered is counted once', async () => {
    const { hanging, times, tab, messages, world, net } = await setup({ random: () => 0.5 });
    hanging.hangNext(1, false); // lost on the way
    hanging.hangNext(1, true); // applied, reply lost
    await markRead(tab.db, [messages[0]!.id, messages[1]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => tab.flusher.getStatus().connection === 'offline');
    expect(tab.flusher.getStatus()).toMatchObject({ connection: 'offline', lastError: { code: 'network' } });
    expect(Date.now() - T0).toBe(30_050);
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 3);
    // 50 (debounce) + 30 s timeout + 500 ms; then + 30 s + 1000 ms.
    expect(times.ackBatch).toEqual([50, 30_550, 61_550]);
    await tab.flusher.whenIdle();
    expect(await tab.db.outbox.count()).toBe(0);
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    expect((await world.readCount([messages[0]!.id, messages[1]!.id])).get(messages[1]!.id)).toBe(1);
    // The server saw the same batch twice: the replay was answered from its batch id.
    const served = net.log.filter((e) => e.kind === 'ackBatch').map((e) => (e.request as { batchId: string }).batchId);
    expect(served).toHaveLength(2);
    expect(served[0]).toBe(served[1]);
    expect(tab.flusher.getStatus()).toMatchObject({ connection: 'online', lastError: null });
  });

  it('a network failure marks the connection offline until a later request succeeds; coming online retries at once', async () => {
    const { net, times, tab, messages } = await setup({ random: () => 0.999 });
    net.setOffline(true);
    await markRead(tab.db, [messages[0]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 3);
    expect(tab.flusher.getStatus().connection).toBe('offline');
    const before = times.ackBatch!.length;
    net.setOffline(false);
    tab.flusher.setOnline(true); // the UI forwards the 'online' event
    await settle();
    await tab.flusher.whenIdle();
    expect(times.ackBatch!.length).toBe(before + 1);
    expect(times.ackBatch!.at(-1)).toBe(Date.now() - T0); // not after the pending backoff
    expect(tab.flusher.getStatus().connection).toBe('online');
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('4xx per item: a refused ack is rejected visibly with its reason and does not block the others', async () => {
    const { world, tab, messages } = await setup();
    const plain = await world.post(1, false); // the server knows it takes no receipts
    // The local copy is stale and claims it wants receipts; another one the server never heard of.
    await storeDelivered(tab.db, [{ ...plain[0]!, needReadReceipt: true }, { ...messages[0]!, id: 'unknown00001', seq: 99 }]);
    const ids = [messages[0]!.id, plain[0]!.id, 'unknown00001', messages[1]!.id];
    await markRead(tab.db, ids);
    await tab.flusher.flush();
    expect(await tab.db.outbox.count()).toBe(0);
    expect(await ackStatuses(tab.db, ids)).toEqual(['sent', 'rejected', 'rejected', 'sent']);
    const rows = await tab.db.messages.bulkGet(ids);
    expect(rows[1]?.ackError).toMatchObject({ code: 'receipt-not-requested' });
    expect(rows[2]?.ackError).toMatchObject({ code: 'not-found' });
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
    expect(world.readersOf(messages[1]!.id)).toEqual(['bob']);
  });

  it('4xx for the whole request: the batch is halved until only the bad item is rejected', async () => {
    const { world, tab, messages, net } = await setup();
    const half = Math.ceil(messages.length / 2);
    await markRead(tab.db, messages.slice(0, half).map((m) => m.id));
    // A corrupt row (id the wire schema refuses) in the middle of the queue.
    const seq = await tab.db.transaction('rw', [tab.db.outbox, tab.db.meta], () => reserveAckSeqs(tab.db, 1));
    const bad: AckOutboxRow = { key: ackKey(seq), kind: 'ack', messageId: 'bad id!', readAt: Date.now() };
    await tab.db.outbox.put(bad);
    await markRead(tab.db, messages.slice(half).map((m) => m.id));
    await tab.flusher.flush();
    expect(await tab.db.outbox.count()).toBe(0);
    for (const m of messages) expect(world.readersOf(m.id)).toEqual(['bob']);
    expect(net.log.filter((e) => e.kind === 'ackBatch' && e.outcome === 'error').length).toBeGreaterThan(1);
    expect(tab.flusher.getStatus().lastError).toMatchObject({ code: 'invalid-argument' });
  });

  it('unauthenticated: the queue is kept, no fast retry loop; the slow timer tries again', async () => {
    const { net, times, tab, messages, world } = await setup();
    net.failNext('ackBatch', () => new AuthError('token expired'), 1);
    await markRead(tab.db, [messages[0]!.id]);
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => (times.ackBatch ?? []).length >= 1);
    await advance(20_000, 1000);
    expect(times.ackBatch).toEqual([50]);
    expect(await tab.db.outbox.count()).toBe(1);
    expect(await ackStatus(tab.db, messages[0]!.id)).toBe('pending');
    expect(tab.flusher.getStatus().lastError).toMatchObject({ code: 'unauthenticated' });
    await runTimersUntil(() => times.ackBatch!.length >= 2);
    expect(times.ackBatch![1]).toBe(30_000);
    await tab.flusher.whenIdle();
    expect(world.readersOf(messages[0]!.id)).toEqual(['bob']);
  });

  it('storage errors: status shows the error, the queue stays intact, the retry delivers once', async () => {
    const { world, tab, messages, net } = await setup();
    await markRead(tab.db, [messages[0]!.id, messages[1]!.id]);
    // Applying the server's answer fails (the only read-write transaction of an ack flush).
    const spy = vi.spyOn(tab.db, 'transaction').mockRejectedValueOnce(new DOMException('quota exceeded', 'QuotaExceededError'));
    await tab.flusher.flush();
    expect(tab.flusher.getStatus().lastError).toMatchObject({ code: 'storage' });
    expect(await tab.db.outbox.count()).toBe(2);
    spy.mockRestore();
    await runTimersUntil(() => net.count('ackBatch') >= 2);
    await tab.flusher.whenIdle();
    expect(await tab.db.outbox.count()).toBe(0);
    expect((await world.readCount([messages[0]!.id])).get(messages[0]!.id)).toBe(1);
  });

  it('a closed database is an error state, not a crash; a new connection still finds the queue', async () => {
    const { world, tab, messages } = await setup();
    await markRead(tab.db, [messages[0]!.id]);
    tab.db.close();
    await tab.flusher.flush();
    expect(tab.flusher.getStatus().lastError).toMatchObject({ code: 'storage' });
    const again = world.openDb('bob');
    expect(await again.outbox.count()).toBe(1);
    again.close();
  });
});
