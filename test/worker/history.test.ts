/**
 * History on demand (issue 11.2): the newest window of each conversation is
 * synced first, and loadOlder pages back through the rest, answering from
 * IndexedDB what it has and fetching the rest when online; receipts of my
 * older messages are refreshed as they load. The conversation's length does
 * not change what the first sync costs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalMessage, MessageWindow, OlderMessages } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const id = (n: number) => `hist${String(n).padStart(8, '0')}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => id(from + i));
const ids = (list: readonly LocalMessage[]) => list.map((m) => m.id);

/** alice posts messages `from`..`to` into `convId`, straight into the server. */
async function post(core: ReturnType<typeof newCore>, convId: string, from: number, to: number, needReadReceipt = false): Promise<void> {
  for (let i = from; i <= to; i += 100) {
    const messages = range(i, Math.min(to, i + 99)).map((m) => ({ id: m, convId, text: m, needReadReceipt, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
}

async function client(core: ReturnType<typeof newCore>, userId: string, historyWindow = 50): Promise<Client> {
  const c = await openClient(core, userId, { worker: { historyWindow } });
  open.push(c);
  await c.worker.engine.idle();
  return c;
}

const stored = (c: Client, convId: string) => c.db.messages.where('[convId+pos]').between([convId, 0], [convId, Infinity]).primaryKeys();

describe('history: the newest window first, older pages on demand', () => {
  it('a fresh install of a 1,000-message group stores only the newest window, and the window says older ones exist', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'big', name: 'Big', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 'big', 1, 1000);
    const bob = await client(core, 'bob');
    expect(await stored(bob, 'big')).toEqual(range(951, 1000));
    expect(bob.transport.count('pullMessages')).toBeLessThanOrEqual(2);
    const sub = await bob.sub({ kind: 'messages', convId: 'big', limit: 20 });
    const win = await bob.until(() => bob.values.get(sub) as MessageWindow | undefined, (w) => w !== undefined, 'window');
    expect(win).toMatchObject({ convId: 'big', limit: 20, hasOlder: true });
    expect(ids(win!.messages)).toEqual(range(981, 1000));
  });

  it('loadOlder pages back to the first message: each once, in order, then hasOlder is false', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'big', name: 'Big', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 'big', 1, 1000);
    const bob = await client(core, 'bob');
    const seen: string[] = [];
    let before: string | undefined = id(951);
    for (let page = 0; page < 20 && before !== undefined; page++) {
      const res: OlderMessages = await bob.api.loadOlder('big', { count: 200, before });
      seen.unshift(...ids(res.messages));
      before = res.hasOlder ? res.messages[0]?.id : undefined;
    }
    expect(seen).toEqual(range(1, 950));
    expect(await stored(bob, 'big')).toEqual(range(1, 1000));
    expect(bob.transport.count('history')).toBe(5);
    // Everything is here now: the window has no older message to offer beyond its limit.
    const sub = await bob.sub({ kind: 'messages', convId: 'big', limit: 1000 });
    const win = await bob.until(() => bob.values.get(sub) as MessageWindow | undefined, (w) => w !== undefined, 'window');
    expect(win?.hasOlder).toBe(false);
    expect(win?.messages).toHaveLength(1000);
  });

  it('answers from IndexedDB what it has, offline too, and fetches only the rest when online', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'big', name: 'Big', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 'big', 1, 400);
    const bob = await client(core, 'bob');
    await bob.api.loadOlder('big', { count: 100, before: id(351) }); // 251-350 stored now
    const requests = bob.transport.count('history');

    bob.transport.setOffline(true);
    const local = await bob.api.loadOlder('big', { count: 50, before: id(351) });
    expect(ids(local.messages)).toEqual(range(301, 350));
    expect(local.hasOlder).toBe(true);
    const partial = await bob.api.loadOlder('big', { count: 80, before: id(301) });
    expect(ids(partial.messages)).toEqual(range(251, 300)); // what is stored; the rest needs the network
    expect(partial.hasOlder).toBe(true);

    bob.transport.setOffline(false);
    const online = await bob.api.loadOlder('big', { count: 80, before: id(301) });
    expect(ids(online.messages)).toEqual(range(221, 300));
    // Defaults: 50 before the oldest stored message of the history.
    const next = await bob.api.loadOlder('big');
    expect(ids(next.messages)).toEqual(range(171, 220));
    expect(bob.transport.log.filter((e) => e.kind === 'history' && e.outcome === 'ok')).toHaveLength(requests + 2);
  });

  it('refreshes the receipts of my older messages as they load', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    await post(core, 'team', 1, 120, true);
    await core.ackBatch('bob', { type: 'ack-batch', batchId: 'bob-read-old', acks: [{ m: id(3), t: 5 }] });
    // alice on a new device: her old messages arrive as history.
    const alice = await client(core, 'alice', 20);
    expect(await alice.db.receipts.get(id(3))).toBeUndefined();
    const state = await alice.sub({ kind: 'read-state', messageId: id(3) });
    await alice.api.loadOlder('team', { count: 100, before: id(101) });
    expect(await alice.db.receipts.get(id(3))).toMatchObject({ readCount: 1, unreadCount: 1 });
    await alice.until(() => alice.values.get(state) as { label?: string } | undefined, (s) => s?.label === '1 read · 1 unread', 'the read shown');
  });

  it('after a long absence: the newest window shows, and loadOlder closes the gap without storing anything twice', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 'team', 1, 30);
    const bob = await client(core, 'bob');
    expect(await stored(bob, 'team')).toEqual(range(1, 30));
    bob.transport.setOffline(true);
    await post(core, 'team', 31, 330);
    bob.transport.setOffline(false);
    await bob.worker.engine.catchUp();
    const sub = await bob.sub({ kind: 'messages', convId: 'team', limit: 100 });
    // The gap (31-280) is not shown as if there were none: the window stops at it.
    const win = await bob.until(() => bob.values.get(sub) as MessageWindow | undefined, (w) => w?.messages.at(-1)?.id === id(330), 'the newest');
    expect(ids(win!.messages)).toEqual(range(281, 330));
    expect(win?.hasOlder).toBe(true);
    let before: string | undefined = id(281);
    while (before !== undefined) {
      const res: OlderMessages = await bob.api.loadOlder('team', { count: 100, before });
      before = res.hasOlder ? res.messages[0]?.id : undefined;
    }
    expect(await stored(bob, 'team')).toEqual(range(1, 330));
    const all = await bob.sub({ kind: 'messages', convId: 'team', limit: 1000 });
    const full = await bob.until(() => bob.values.get(all) as MessageWindow | undefined, (w) => w?.messages.length === 330, 'all shown');
    expect(full?.hasOlder).toBe(false);
  });

  it('refuses bad arguments with invalid-argument, and an unknown `before` with not-found', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await core.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 'team', 1, 3);
    await post(core, 'other', 4, 4);
    const bob = await client(core, 'bob');
    await expect(bob.api.loadOlder('team', { count: 0 })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(bob.api.loadOlder('team', { count: 1.5 })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(bob.api.loadOlder('no such id!', {})).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(bob.api.loadOlder('team', { before: id(4) })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(bob.api.loadOlder('team', { before: id(999) })).rejects.toMatchObject({ code: 'not-found' });
    expect(await stored(bob, 'team')).toEqual(range(1, 3));
  });
});
