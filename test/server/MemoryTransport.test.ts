import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '../../src/protocol';
import { ReadSyncError, TransientError } from '../../src/protocol';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import type { EventStreamStatus } from '../../worker/transport/Transport';
import { runTransportContractTests } from '../contracts/transportContract';
import { mid } from './coreFixture';

runTransportContractTests('MemoryTransport', async () => {
  const core = new SyncCore(new MemoryStore(), { secret: 's' });
  return { transport: (u) => new MemoryTransport(core, u), admin: core.admin, close: async () => {} };
});

async function world() {
  const core = new SyncCore(new MemoryStore(), { secret: 's' });
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  const alice = new MemoryTransport(core, 'alice');
  const bob = new MemoryTransport(core, 'bob');
  const send = (n: number) => alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(n), convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 }] });
  const ack = (n: number, batchId = `batch-${n}-x`) => bob.ackBatch({ type: 'ack-batch', batchId, acks: [{ m: mid(n), t: 2 }] });
  const readCount = async (n: number) => (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(n)] })).receipts[0]?.readCount;
  return { core, alice, bob, send, ack, readCount };
}

/** Lets the backend's work and its event flush (at the end of an event-loop turn) run. */
const flushAsync = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('MemoryTransport fault injection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fails requests with a retryable network error while offline, and nothing reaches the backend', async () => {
    const w = await world();
    await w.send(1);
    w.bob.setOffline(true);
    const err = await w.ack(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'network', retryable: true });
    expect(await w.readCount(1)).toBe(0);
    w.bob.setOffline(false);
    expect((await w.ack(1)).results[0]?.s).toBe('accepted');
    expect(w.bob.log.map((e) => [e.kind, e.outcome])).toEqual([
      ['ackBatch', 'offline'],
      ['ackBatch', 'ok'],
    ]);
  });

  it('fails the next N requests of a kind with the given error, then passes', async () => {
    const w = await world();
    await w.send(1);
    w.bob.failNext('ackBatch', new TransientError('rate-limited', 'slow down', { status: 429, retryAfterMs: 2000 }));
    w.bob.failNext('ackBatch', () => new TransientError('server', 'boom', { status: 503 }));
    await expect(w.ack(1)).rejects.toMatchObject({ code: 'rate-limited', retryAfterMs: 2000, retryable: true });
    await expect(w.ack(1)).rejects.toMatchObject({ code: 'server', status: 503 });
    expect(await w.readCount(1)).toBe(0);
    await expect(w.bob.pullMessages({ type: 'pull-messages', since: {} })).resolves.toMatchObject({ type: 'pull-messages-result' });
    expect((await w.ack(1)).results[0]?.s).toBe('accepted');
    expect(w.bob.count('ackBatch')).toBe(3);
    expect(w.bob.count('pullMessages')).toBe(1);
  });

  it('can apply a request and lose the reply, so the retry sees the batch as already applied', async () => {
    const w = await world();
    await w.send(1);
    w.bob.dropReplyNext('ackBatch');
    await expect(w.ack(1, 'lost-reply-1')).rejects.toMatchObject({ code: 'network' });
    expect(await w.readCount(1)).toBe(1);
    expect((await w.ack(1, 'lost-reply-1')).results).toEqual([{ m: mid(1), s: 'accepted' }]);
    expect(await w.readCount(1)).toBe(1);
  });

  it('passes backend refusals through as typed, non-retryable errors', async () => {
    const w = await world();
    await w.send(1);
    const err = await w.bob.memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadSyncError);
    expect(err).toMatchObject({ code: 'not-sender', retryable: false });
  });

  it('closes the event stream offline and resumes from the last cursor when back online', async () => {
    const w = await world();
    const events: ServerEvent[] = [];
    const statuses: EventStreamStatus[] = [];
    w.alice.openEvents(null, { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
    await flushAsync();
    await w.send(1);
    await w.send(2);
    await w.ack(1);
    await flushAsync();
    expect(events.filter((e) => e.type === 'receipts')).toHaveLength(1);
    w.alice.setOffline(true);
    await w.ack(2); // bob is online: the change happens while alice is away
    await flushAsync();
    expect(events.filter((e) => e.type === 'receipts')).toHaveLength(1);
    w.alice.setOffline(false);
    await flushAsync();
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting', 'open']);
    const receipts = events.filter((e) => e.type === 'receipts');
    expect(receipts.at(-1)).toMatchObject({ receipts: [{ messageId: mid(2), readCount: 1 }] });
    expect(receipts).toHaveLength(2); // the replay brought only what was missed
  });

  it('works under fake timers with a configurable latency', async () => {
    vi.useFakeTimers();
    const core = new SyncCore(new MemoryStore(), { secret: 's' });
    const t = new MemoryTransport(core, 'alice', { latencyMs: 100 });
    let done = false;
    void t.getConfig().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(150);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toBe(true);
  });

  it('deep-clones requests: changing the object after the call changes nothing sent', async () => {
    const w = await world();
    await w.send(1);
    const req = { type: 'ack-batch' as const, batchId: 'clone-test-1', acks: [{ m: mid(1), t: 2 }] };
    const p = w.bob.ackBatch(req);
    req.acks[0]!.m = mid(999);
    expect((await p).results).toEqual([{ m: mid(1), s: 'accepted' }]);
  });
});
