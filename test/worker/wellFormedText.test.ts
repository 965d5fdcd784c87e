/**
 * Issue 8: sendMessage refuses text that is not well-formed UTF-16 (a lone
 * surrogate) before it stores anything: such text cannot reach the server
 * unchanged, and the server refuses it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function setup() {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  const c = await openClient(core, 'alice');
  open.push(c);
  return { core, c };
}

const stored = async (c: Client) => ({ messages: await c.db.messages.toArray(), outbox: await c.db.outbox.toArray() });

describe('sendMessage text must be well-formed', () => {
  it('rejects a lone surrogate with a ValidationError (invalid-argument) and stores nothing', async () => {
    const { core, c } = await setup();
    const before = await stored(c);
    for (const text of ['x\ud800y', 'x\udc00y', 'tail \ud83d', '\udc4b\ud83d']) {
      const err = await c.api.sendMessage({ convId: 'team', text }).then(
        () => ({ code: 'resolved', name: '', message: '' }),
        (e: { code: string; name: string; message: string }) => e,
      );
      expect(err.code, JSON.stringify(text)).toBe('invalid-argument');
      expect(err.name).toBe('ValidationError');
      expect(err.message).toContain('text');
    }
    await c.api.flush();
    expect(await stored(c)).toEqual(before);
    expect((await core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages).toEqual([]);
  });

  it('sends astral text (emoji) unchanged', async () => {
    const { core, c } = await setup();
    const text = 'ok 👍🏽 𝄞';
    const msg = await c.api.sendMessage({ convId: 'team', text, needReadReceipt: true });
    await c.api.flush();
    expect(await c.db.messages.get(msg.id)).toMatchObject({ text, status: 'sent' });
    expect((await core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages.map((m) => m.text)).toEqual([text]);
  });
});
