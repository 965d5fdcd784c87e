/**
 * `syncStatus$.lastError` says what failed last, and stops saying it once the
 * same kind of work succeeds again (issue 11.7): a 429 must not outlive a
 * drained queue on an online connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/protocol';
import type { SyncStatus } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const rateLimited = () => new TransientError('rate-limited', 'HTTP 429', { status: 429, retryAfterMs: 1 });

async function world() {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  const alice = await openClient(core, 'alice');
  open.push(alice);
  const status = await alice.sub({ kind: 'sync-status' });
  const current = () => alice.values.get(status) as SyncStatus | undefined;
  await alice.until(current, (s) => s?.connection === 'online', 'online');
  const m = await alice.api.sendMessage({ convId: 'team', text: 'q', needReadReceipt: true });
  await alice.api.flush();
  return { alice, current, m };
}

describe('syncStatus$.lastError', () => {
  it('a receipt query answered 429 shows as the last error, and the next receipt query that succeeds clears it', async () => {
    const { alice, current, m } = await world();
    alice.transport.failNext('queryReceipts', rateLimited());
    // Answered from the store meanwhile, with the 429 shown.
    expect(await alice.api.getReadReceipts([m.id])).toHaveLength(1);
    await alice.until(current, (s) => s?.lastError?.code === 'rate-limited', 'the 429 shown');

    await alice.api.getReadReceipts([m.id]);
    const s = await alice.until(current, (x) => x?.lastError === null, 'the 429 cleared');
    expect(s).toMatchObject({ connection: 'online', pendingMessages: 0, pendingAcks: 0 });
  });

  it('a catch-up pull answered 429 is cleared by the next pull that succeeds', async () => {
    const { alice, current } = await world();
    alice.transport.failNext('pullMessages', rateLimited());
    await alice.worker.engine.catchUp();
    await alice.until(current, (s) => s?.lastError?.code === 'rate-limited', 'the 429 shown');
    await alice.worker.engine.catchUp();
    await alice.until(current, (x) => x?.lastError === null, 'the 429 cleared');
  });

  it('a flush answered 429 is cleared by the next flush that succeeds', async () => {
    const { alice, current } = await world();
    alice.transport.failNext('sendMessages', rateLimited());
    await alice.api.sendMessage({ convId: 'team', text: 'again', needReadReceipt: false });
    await alice.api.flush();
    await alice.until(current, (s) => s?.lastError?.code === 'rate-limited', 'the 429 shown');
    await alice.api.flush();
    await alice.until(current, (x) => x?.lastError === null && x.pendingMessages === 0, 'the 429 cleared, the queue drained');
  });

  it('a success of another kind does not hide an error that still holds', async () => {
    const { alice, current, m } = await world();
    alice.transport.failNext('queryReceipts', rateLimited());
    await alice.api.getReadReceipts([m.id]);
    await alice.until(current, (s) => s?.lastError?.code === 'rate-limited', 'the 429 shown');
    await alice.api.sendMessage({ convId: 'team', text: 'more', needReadReceipt: false });
    await alice.api.flush();
    await alice.until(current, (s) => s?.pendingMessages === 0, 'flushed');
    expect(current()?.lastError?.code).toBe('rate-limited');
  });
});
