/**
 * Bulk sends at ack speed (issue 11.4): concurrent sendMessage calls share
 * IndexedDB transactions (group commit), sendMessages stores a batch in one
 * call, and the flusher keeps several message requests on the wire at once
 * while never letting two requests of one conversation overlap (the server
 * numbers a conversation's messages in arrival order).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SendMessagesRequest, SendMessagesResponse } from '../../src/protocol';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { newCore, openClient, type Client } from './harness';

const open: Client<MemoryTransport>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function world(transport?: (core: ReturnType<typeof newCore>) => MemoryTransport) {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  await core.admin.createGroup({ id: 'crew', name: 'Crew', groupType: 'work', members: ['alice', 'bob'] });
  const alice = await openClient(core, 'alice', transport ? { transport: transport(core) } : {});
  open.push(alice);
  return { core, alice };
}

/** The ids the server holds for a conversation, in its order. */
async function onServer(core: ReturnType<typeof newCore>, convId: string): Promise<string[]> {
  const res = await core.pullMessages('bob', { type: 'pull-messages', since: {}, limit: 1000 });
  return res.messages.filter((m) => m.convId === convId).map((m) => m.id);
}

describe('bulk sends', () => {
  it('concurrent sendMessage calls share transactions: 300 calls commit in a handful, each resolved, in call order', async () => {
    const { core, alice } = await world();
    await alice.api.setEnvironment({ online: false }); // keep the flusher out of the count
    const spy = vi.spyOn(alice.db, 'transaction');
    const calls = Array.from({ length: 300 }, (_, i) => alice.api.sendMessage({ convId: 'team', text: `m${i}` }));
    const sent = await Promise.all(calls);
    const writes = spy.mock.calls.filter((args) => args[0] === 'rw').length;
    spy.mockRestore();
    expect(sent.map((m) => m.status)).toEqual(sent.map(() => 'pending'));
    expect(writes).toBeLessThan(30);
    await alice.api.setEnvironment({ online: true });
    await alice.api.flush();
    expect(await onServer(core, 'team')).toEqual(sent.map((m) => m.id));
  });

  it('sendMessages stores a batch in one call and answers the messages in order', async () => {
    const { core, alice } = await world();
    const sent = await alice.api.sendMessages([
      { convId: 'team', text: 'a' },
      { convId: 'crew', text: 'b', needReadReceipt: true },
      { convId: 'team', text: 'c' },
    ]);
    expect(sent.map((m) => [m.convId, m.text, m.status])).toEqual([
      ['team', 'a', 'pending'],
      ['crew', 'b', 'pending'],
      ['team', 'c', 'pending'],
    ]);
    await alice.api.flush();
    expect(await onServer(core, 'team')).toEqual([sent[0]!.id, sent[2]!.id]);
    expect(await onServer(core, 'crew')).toEqual([sent[1]!.id]);
    expect(await alice.api.sendMessages([])).toEqual([]);
  });

  it('a bad item or a reused id refuses the whole batch with a typed error and stores none of it; other sends are not affected', async () => {
    const { alice } = await world();
    await alice.api.setEnvironment({ online: false });
    const first = await alice.api.sendMessage({ convId: 'team', text: 'x', id: 'fixedId0001' });
    const bad = alice.api.sendMessages([{ convId: 'team', text: 'ok' }, { convId: 'team', text: 42 as never }]);
    await expect(bad).rejects.toMatchObject({ code: 'invalid-argument' });
    const racing = alice.api.sendMessage({ convId: 'crew', text: 'meanwhile' });
    const reused = alice.api.sendMessages([{ convId: 'team', text: 'new', id: 'freshId0001' }, { convId: 'team', text: 'x', id: first.id }]);
    await expect(reused).rejects.toMatchObject({ code: 'conflict' });
    const twice = alice.api.sendMessages([{ convId: 'team', text: 'new', id: 'twiceId0001' }, { convId: 'team', text: 'y', id: 'twiceId0001' }]);
    await expect(twice).rejects.toMatchObject({ code: 'conflict' });
    expect((await racing).status).toBe('pending');
    expect(await alice.db.messages.get('freshId0001')).toBeUndefined();
    expect(await alice.db.messages.get('twiceId0001')).toBeUndefined();
    expect(await alice.db.outbox.count()).toBe(2);
  });

  it('flushes message batches pipelined: requests of different conversations overlap, those of one conversation never do', async () => {
    const flights: { convs: Set<string>; start: number; end: number }[] = [];
    let now = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const { core, alice } = await world((c) => {
      const t = new MemoryTransport(c, 'alice');
      const send = t.sendMessages.bind(t);
      t.sendMessages = async (req: SendMessagesRequest): Promise<SendMessagesResponse> => {
        const flight = { convs: new Set(req.messages.map((m) => m.convId)), start: ++now, end: Infinity };
        flights.push(flight);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 5));
          return await send(req);
        } finally {
          inFlight--;
          flight.end = ++now;
        }
      };
      return t;
    });
    await alice.api.setEnvironment({ online: false });
    // Batches alternate between the conversations: 100 per request by default, so 6 requests.
    const inputs = Array.from({ length: 600 }, (_, i) => ({ convId: Math.floor(i / 100) % 2 === 0 ? 'team' : 'crew', text: `m${i}` }));
    const sent = await alice.api.sendMessages(inputs);
    await alice.api.setEnvironment({ online: true });
    await alice.api.flush();
    await alice.until(() => alice.db.outbox.count(), (n) => n === 0, 'outbox drained');
    expect(maxInFlight).toBeGreaterThan(1);
    for (const a of flights) {
      for (const b of flights) {
        if (a === b || !(a.start < b.end && b.start < a.end)) continue;
        expect([...a.convs].some((c) => b.convs.has(c)), 'two overlapping requests share a conversation').toBe(false);
      }
    }
    expect(await onServer(core, 'team')).toEqual(sent.filter((m) => m.convId === 'team').map((m) => m.id));
    expect(await onServer(core, 'crew')).toEqual(sent.filter((m) => m.convId === 'crew').map((m) => m.id));
  });
});
