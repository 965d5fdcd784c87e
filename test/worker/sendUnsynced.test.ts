/**
 * Local-first sends (issue 11.3): a message into a conversation this worker
 * has not synced yet is stored and queued like any other; the server decides
 * at flush, and a refusal leaves it visibly failed with its reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadState } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A worker that has not synced anything (no event stream, no pulls): every conversation is new to it. */
async function unsynced(core: ReturnType<typeof newCore>, userId: string): Promise<Client> {
  const c = await openClient(core, userId, { worker: { sync: false } });
  open.push(c);
  return c;
}

describe('sending into a conversation not synced yet', () => {
  it('is stored and queued at once, and sent when the server accepts it (the server\'s type and position win)', async () => {
    const core = newCore();
    const alice = await unsynced(core, 'alice');
    // alice just created it on the server; her worker has not heard of it.
    const conv = await core.admin.createC2C('alice', 'bob');
    expect(await alice.db.conversations.get(conv.id)).toBeUndefined();

    const m = await alice.api.sendMessage({ convId: conv.id, text: 'first!', needReadReceipt: true });
    expect(m).toMatchObject({ convId: conv.id, status: 'pending', seq: null });
    expect((await alice.db.outbox.toArray()).filter((r) => r.kind === 'message').map((r) => r.messageId)).toEqual([m.id]);

    await alice.api.flush();
    const row = await alice.until(() => alice.db.messages.get(m.id), (r) => r?.status === 'sent', 'accepted');
    expect(row).toMatchObject({ convType: 'c2c', seq: 1, audienceCount: 1 });
    const onServer = (await core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages;
    expect(onServer.map((x) => x.id)).toEqual([m.id]);
  });

  it('takes the conversation type from the caller until the server answers', async () => {
    const core = newCore();
    const alice = await unsynced(core, 'alice');
    const m = await alice.api.sendMessage({ convId: 'c2c:alice:zed', convType: 'c2c', text: 'hi' });
    expect(m.convType).toBe('c2c');
    await expect(alice.api.sendMessage({ convId: 'x', convType: 'channel' as never, text: 'hi' })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('a refusal at flush (no such conversation, not a member) leaves the message failed with its reason, and the queue moves on', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['bob', 'carol'] });
    await core.admin.createGroup({ id: 'mine', name: 'Mine', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await unsynced(core, 'alice');
    const nowhere = await alice.api.sendMessage({ convId: 'nowhere', text: 'x', needReadReceipt: true });
    const foreign = await alice.api.sendMessage({ convId: 'other', text: 'x' });
    const fine = await alice.api.sendMessage({ convId: 'mine', text: 'x' });
    const states = await Promise.all([nowhere, foreign, fine].map((m) => alice.sub({ kind: 'read-state', messageId: m.id })));
    await alice.api.flush();
    const state = (i: number) => alice.values.get(states[i]!) as ReadState | undefined;
    await alice.until(() => state(2), (s) => s?.status === 'sent', 'the good one sent');
    const failed = await alice.until(() => [state(0), state(1)], (xs) => xs.every((s) => s?.status === 'failed'), 'the others failed');
    expect(failed.map((s) => s?.error?.code)).toEqual(['not-found', 'not-member']);
    expect(failed[1]?.label).toMatch(/^Failed: /);
    expect(await alice.db.outbox.count()).toBe(0);
  });
});
