/**
 * Issue 8: text with a lone surrogate cannot be stored as it was sent (SQLite
 * and UTF-8 JSON turn it into U+FFFD), so a resend of the same message id was
 * answered `conflict` and the client marked a stored message failed. The
 * server refuses ill-formed text at the boundary instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;

beforeAll(async () => {
  s = await startServer();
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
});
afterAll(() => s.close());

const as = (userId: string) => ({ authorization: `Bearer ${s.token(userId)}` });
/** The body as JSON text with `text`, `id` and `convId` pasted in raw, so `\ud800` arrives as an escape, i.e. a lone surrogate. */
const rawSend = (raw: { id?: string; convId?: string; text?: string }) =>
  `{"type":"send-messages","messages":[{"id":"${raw.id ?? 'lonesurr01'}","convId":"${raw.convId ?? 'team'}","text":"${raw.text ?? 'ok'}","needReadReceipt":true,"createdAt":1}]}`;
const storedIds = async () => (await s.core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages.map((m) => m.id);

describe('message text and ids must be well-formed UTF-16', () => {
  it('refuses a lone surrogate in text with 400 invalid-argument and stores nothing', async () => {
    const before = await storedIds();
    const texts = ['x\\ud800y', 'x\\udc00y', 'tail \\ud83d', '\\udc4b\\ud83d reversed pair'];
    for (const text of texts) {
      const res = await s.post('/v1/messages', rawSend({ text }), as('alice'));
      expect(res.status, text).toBe(400);
      expect(res.json, text).toMatchObject({ name: 'ValidationError', code: 'invalid-argument' });
      expect(String(res.json.message), text).toContain('messages.0.text');
    }
    // Ids are ASCII by their alphabet, so a surrogate there is refused as well.
    for (const ids of [{ id: 'lone\\ud800sur' }, { convId: 'te\\udc00am' }]) {
      const res = await s.post('/v1/messages', rawSend(ids), as('alice'));
      expect(res.status, JSON.stringify(ids)).toBe(400);
      expect(res.json).toMatchObject({ code: 'invalid-argument' });
    }
    expect(await storedIds()).toEqual(before);
    // Nothing was stored under the id: the same id with well-formed text is a first send.
    const ok = await s.post('/v1/messages', rawSend({ text: 'x\\ufffdy' }), as('alice'));
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ results: [{ id: 'lonesurr01', status: 'accepted' }] });
  });

  it('keeps astral text (emoji) exactly, and a resend of the same message is a duplicate', async () => {
    const text = 'lunch? 👋🏽 𝄞 👨‍👩‍👧 \ud83d\ude00';
    const alice = s.transport('alice');
    const msg = { id: 'astral0001', convId: 'team', text, needReadReceipt: true, createdAt: 2 };
    const first = await alice.sendMessages({ type: 'send-messages', messages: [msg] });
    expect(first.results[0]).toMatchObject({ status: 'accepted', message: { text } });
    const again = await alice.sendMessages({ type: 'send-messages', messages: [msg] });
    expect(again.results[0]).toMatchObject({ status: 'duplicate', message: { id: 'astral0001', text } });
    const pulled = await s.transport('bob').pullMessages({ type: 'pull-messages', since: {} });
    expect(pulled.messages.find((m) => m.id === 'astral0001')?.text).toBe(text);
  });
});
