import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './httpFixture';

let clock = 1_000_000;
let s: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  s = await startServer({ config: { rateLimit: { perSecond: 1, burst: 2, now: () => clock } } });
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: 'ratemsg1', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] });
});
afterAll(() => s.close());

describe('per-user rate limit', () => {
  it('answers 429 with Retry-After over the limit, which HttpTransport reports as retryable rate-limited; nothing is applied', async () => {
    const bob = s.transport('bob');
    await bob.pullMessages({ type: 'pull-messages', since: {} });
    await bob.pullMessages({ type: 'pull-messages', since: {} });
    const raw = await s.post('/v1/acks', { type: 'ack-batch', batchId: 'rate-batch-1', acks: [{ m: 'ratemsg1', t: 1 }] }, { authorization: `Bearer ${s.token('bob')}` });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(raw.json).toMatchObject({ code: 'rate-limited', retryAfterMs: 1000 });
    await expect(bob.ackBatch({ type: 'ack-batch', batchId: 'rate-batch-1', acks: [{ m: 'ratemsg1', t: 1 }] })).rejects.toMatchObject({
      code: 'rate-limited',
      retryAfterMs: 1000,
      retryable: true,
    });
    expect((await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: ['ratemsg1'] })).receipts[0]?.readCount).toBe(0);
    // other users have their own budget
    await expect(s.transport('carol').pullMessages({ type: 'pull-messages', since: {} })).resolves.toMatchObject({ type: 'pull-messages-result' });
    clock += 1000;
    expect((await bob.ackBatch({ type: 'ack-batch', batchId: 'rate-batch-1', acks: [{ m: 'ratemsg1', t: 1 }] })).results).toEqual([{ m: 'ratemsg1', s: 'accepted' }]);
  });
});
