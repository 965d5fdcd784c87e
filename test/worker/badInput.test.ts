import { afterEach, describe, expect, it } from 'vitest';
import type { MessageWindow, ReadState } from '../../src/bridge';
import type { MessageRow } from '../../worker/db/ReadSyncDb';
import { mid, newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const incoming = (n: number) => ({
  id: mid(n),
  convId: 'team',
  convType: 'group' as const,
  senderId: 'bob',
  text: `m${n}`,
  needReadReceipt: true,
  seq: n,
  sentAt: 100 + n,
  audienceCount: 1,
});

/**
 * alice with two incoming messages, one read, and one message of her own
 * queued, plus the delivery of the two she received; offline keeps the queue
 * as it is.
 */
async function setup(offline = false): Promise<Client> {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  const c = await openClient(core, 'alice');
  open.push(c);
  c.transport.setOffline(offline);
  await c.api.receiveMessages([incoming(1), incoming(2)]);
  await c.api.sendMessage({ convId: 'team', text: 'mine', needReadReceipt: true });
  await c.api.markRead([mid(1)]);
  return c;
}

/** Everything stored, to compare before and after a refused call. */
async function dump(c: Client) {
  const { db } = c;
  return {
    messages: await db.messages.toArray(),
    outbox: (await db.outbox.toArray()).map((r) => r.key),
    receipts: await db.receipts.toArray(),
  };
}

const failure = (p: Promise<unknown>): Promise<{ code?: string; name?: string; message?: string }> => p.then(() => ({ code: 'resolved' }), (e: { code?: string; name?: string; message?: string }) => e);

describe('bad input', () => {
  it('invalid arguments get invalid-argument with a clear message, and nothing stored changes', async () => {
    const c = await setup();
    await c.api.flush();
    const before = await dump(c);
    const calls: [string, Promise<unknown>][] = [
      ['markRead(string)', c.api.markRead('nope' as never)],
      ['markRead([number])', c.api.markRead([mid(2), 42 as never])],
      ['markRead(bad id)', c.api.markRead([{ id: 'bad id!' }])],
      ['sendMessage(text number)', c.api.sendMessage({ convId: 'team', text: 42 as never })],
      ['sendMessage(too long)', c.api.sendMessage({ convId: 'team', text: 'x'.repeat(4001) })],
      ['sendMessage(bad convId)', c.api.sendMessage({ convId: 'no spaces allowed', text: 'x' })],
      ['receiveMessages(bad)', c.api.receiveMessages([{ ...incoming(3), seq: -1 }])],
      ['getReadReceipts(null)', c.api.getReadReceipts(null as never)],
      ['getReadMembers(filter)', c.api.getReadMembers(mid(1), { filter: 'maybe' as never })],
      ['subscribe(kind)', c.api.subscribe([{ id: 1, query: { kind: 'everything' } as never }])],
      ['subscribe(read-state, bad id)', c.api.subscribe([{ id: 1, query: { kind: 'read-state', messageId: mid(1) } }, { id: 2, query: { kind: 'read-state', messageId: 'bad id!' } }])],
      ['subscribe(negative id)', c.api.subscribe([{ id: -1, query: { kind: 'read-state', messageId: mid(1) } }])],
      ['setEnvironment', c.api.setEnvironment({ online: 'yes' } as never)],
    ];
    for (const [what, p] of calls) {
      const err = await failure(p);
      expect(err.code, what).toBe('invalid-argument');
      expect(err.message, what).toBeTruthy();
    }
    const markErr = await failure(c.api.markRead([mid(2), 42 as never]));
    expect(markErr.message).toContain('item 1');
    expect(await dump(c)).toEqual(before);
    expect(await c.api.stats()).toEqual({ subscriptions: 0, queries: 0 });
  });

  it('a damaged message row neither crashes subscriptions nor hides the rest', async () => {
    const c = await setup();
    // Another program (or an old version) left a row with the wrong types.
    await c.db.messages.put({ id: mid(9), convId: 'team', senderId: 7, text: null, pos: 9 } as unknown as MessageRow);
    const bad = await c.sub({ kind: 'read-state', messageId: mid(9) });
    const good = await c.sub({ kind: 'read-state', messageId: mid(2) });
    const list = await c.sub({ kind: 'messages', convId: 'team' });
    const err = await c.until(() => c.errors.get(bad), (e) => e !== undefined, 'typed error');
    expect(err?.code).toBe('storage');
    await c.until(() => c.values.get(good) as ReadState | undefined, (s) => s?.messageId === mid(2), 'good one');
    const msgs = await c.until(() => (c.values.get(list) as MessageWindow | undefined)?.messages, (l) => (l?.length ?? 0) > 0, 'list');
    expect(msgs?.map((m) => m.id)).not.toContain(mid(9));
    expect(msgs).toHaveLength(3);
    expect(await c.api.markRead([mid(9), mid(2)])).toMatchObject({ queued: 1, skipped: [{ messageId: mid(9), reason: 'not-found' }] });
    // The server's copy repairs the row.
    await c.api.receiveMessages([incoming(9)]);
    await c.until(() => c.db.messages.get(mid(9)), (r) => r?.senderId === 'bob', 'repaired');
  });

  it('a bad server payload is refused with bad-payload and nothing is applied', async () => {
    const c = await setup(true);
    const before = await dump(c);
    const bad = [
      { type: 'receipts', receipts: [{ messageId: mid(1), readCount: -1 }], cursor: 5 },
      { type: 'messages', messages: [{ ...incoming(5), audienceCount: 'many' }] },
      { type: 'who-knows' },
      null,
    ];
    for (const e of bad) await expect(c.worker.engine.apply(e)).rejects.toMatchObject({ code: 'bad-payload' });
    expect(await dump(c)).toEqual(before);
  });

  it('a database failure surfaces as a storage error and the queue stays intact', async () => {
    const c = await setup(true);
    const queued = (await c.db.outbox.toArray()).map((r) => r.key).sort();
    expect(queued.map((k) => k.slice(0, 2))).toEqual(['a:', 'd:', 'ms']);
    c.db.close();
    expect(await failure(c.api.markRead([mid(2)]))).toMatchObject({ code: 'storage', name: 'StorageError' });
    expect(await failure(c.api.sendMessage({ convId: 'team', text: 'x' }))).toMatchObject({ code: 'storage' });
    await c.db.open();
    expect((await c.db.outbox.toArray()).map((r) => r.key).sort()).toEqual(queued);
  });

  it('calls after close reject with code closed', async () => {
    const c = await setup();
    await c.api.close();
    expect(await failure(c.api.markRead([mid(1)]))).toMatchObject({ code: 'closed' });
  });
});
