/**
 * Joining a group brings its history at once (issue 11.1): the worker fetches
 * a conversation as soon as it learns of it, from the event stream or a
 * pull, without waiting for a reconnect or a reload.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function post(core: ReturnType<typeof newCore>, convId: string, n: number, from = 0): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `hist${String(from + i).padStart(8, '0')}`);
  for (let i = 0; i < n; i += 100) {
    const messages = ids.slice(i, i + 100).map((id) => ({ id, convId, text: id, needReadReceipt: true, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
  return ids;
}

const stored = (c: Client, convId: string) => c.db.messages.where('[convId+pos]').between([convId, 0], [convId, Infinity]).primaryKeys();

describe('a member added to a group', () => {
  it('gets the group and its earlier messages as soon as the event arrives, and can mark them read', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'carol'] });
    const ids = await post(core, 'team', 30);
    const bob = await openClient(core, 'bob');
    open.push(bob);
    expect(await bob.api.getConversations()).toEqual([]);

    await core.admin.join('team', 'bob');
    await bob.until(() => bob.api.getConversations(), (cs) => cs.length === 1, 'the group');
    const got = await bob.until(() => stored(bob, 'team'), (keys) => keys.length === 30, 'its 30 earlier messages');
    expect(got).toEqual(ids);
    // Known here now: marking one read queues it (the server then says he was not in its audience).
    expect(await bob.api.markRead([ids[29]!])).toMatchObject({ queued: 1, skipped: [] });
  });

  it('a member who left and rejoined gets what was sent meanwhile at the next catch-up, and nothing twice', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const first = await post(core, 'team', 5);
    const bob = await openClient(core, 'bob');
    open.push(bob);
    await bob.until(() => stored(bob, 'team'), (k) => k.length === 5, 'the first five');
    await core.admin.leave('team', 'bob');
    const meanwhile = await post(core, 'team', 5, 5);
    await core.admin.join('team', 'bob');
    await bob.worker.engine.catchUp();
    const all = await bob.until(() => stored(bob, 'team'), (k) => k.length === 10, 'all ten');
    expect(all).toEqual([...first, ...meanwhile]);
  });
});
