import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TokenAuth } from '../../src/server/auth/TokenAuth';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;
const MSG = 'secmsg01';

beforeAll(async () => {
  s = await startServer();
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: MSG, convId: 'team', text: 'secret plans', needReadReceipt: true, createdAt: 1 }] });
});
afterAll(() => s.close());

const bearer = (userId: string) => ({ authorization: `Bearer ${s.token(userId)}` });
const ackBody = (batchId: string, m = MSG) => ({ type: 'ack-batch', batchId, acks: [{ m, t: 5 }] });

/** What must never change in these tests: nobody has read the message, nothing new was sent. */
async function expectUntouched() {
  const r = await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] });
  expect(r.receipts[0]).toMatchObject({ readCount: 0, unreadCount: 2 });
  const pulled = await s.core.pullMessages('alice', { type: 'pull-messages', since: {} });
  expect(pulled.messages.map((m) => m.id)).toEqual([MSG]);
}

describe('HTTP security: every request is authenticated', () => {
  const routes: [string, unknown][] = [
    ['/v1/acks', ackBody('sec-batch-1')],
    ['/v1/messages', { type: 'send-messages', messages: [{ id: 'secmsg02', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] }],
    ['/v1/pull', { type: 'pull-messages', since: {} }],
    ['/v1/receipts', { type: 'receipt-query', messageIds: [MSG] }],
    ['/v1/members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 10 }],
  ];

  it('refuses requests with no token, a garbled token, a forged signature, an expired token or another server’s token', async () => {
    const forged = s.token('bob').replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    const expired = new TokenAuth('test-secret-0123456789', { now: () => Date.now() - 40 * 24 * 3600_000 }).issue('bob');
    const foreign = new TokenAuth('another-secret-0123456789').issue('bob');
    const badHeaders: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Basic Ym9iOmJvYg==' },
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer ${forged}` },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${foreign}` },
    ];
    for (const headers of badHeaders) {
      for (const [path, body] of routes) {
        const res = await s.post(path, body, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json).toMatchObject({ code: 'unauthenticated', name: 'AuthError' });
      }
    }
    const cfg = await fetch(`${s.url}/v1/config`);
    expect(cfg.status).toBe(401);
    await expectUntouched();
  });

  it('refuses the event stream without a valid token, before the upgrade', async () => {
    for (const q of ['', '?token=garbage', `?token=${encodeURIComponent(new TokenAuth('another-secret-0123456789').issue('alice'))}`]) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/events${q}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(status).toBe(401);
    }
  });

  it('does not let a member read the sender’s receipts or member lists', async () => {
    const page = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter: 'read', count: 10 }, bearer('bob'));
    expect(page).toMatchObject({ status: 403, json: { code: 'not-sender' } });
    const receipts = await s.post('/v1/receipts', { type: 'receipt-query', messageIds: [MSG] }, bearer('bob'));
    expect(receipts.json).toEqual({ type: 'receipt-query-result', receipts: [], rejected: [{ m: MSG, r: 'not-sender' }] });
  });

  it('gives a non-member nothing: no messages, no sending, no acks', async () => {
    const pulled = await s.post('/v1/pull', { type: 'pull-messages', since: {} }, bearer('mallory'));
    expect(pulled.json).toMatchObject({ type: 'pull-messages-result', conversations: [], messages: [], hasMore: false, readPositions: [] });
    expect((pulled.json as { myReads: unknown }).myReads).toMatchObject({ reads: [] });
    const sent = await s.post('/v1/messages', { type: 'send-messages', messages: [{ id: 'secmsg03', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] }, bearer('mallory'));
    expect(sent.json).toMatchObject({ results: [{ id: 'secmsg03', status: 'rejected', reason: 'not-member' }] });
    const acked = await s.post('/v1/acks', ackBody('sec-batch-2'), bearer('mallory'));
    expect(acked.json).toMatchObject({ results: [{ m: MSG, s: 'rejected', r: 'not-member' }] });
    const page = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 10 }, bearer('mallory'));
    expect(page.status).toBe(403);
    await expectUntouched();
  });

  it('ignores forged identity fields: the sender and the reader are always the token’s user', async () => {
    const sent = await s.post(
      '/v1/messages',
      { type: 'send-messages', senderId: 'alice', messages: [{ id: 'secmsg04', convId: 'team', text: 'from bob', needReadReceipt: true, createdAt: 1, senderId: 'alice' }] },
      bearer('bob'),
    );
    expect(sent.json).toMatchObject({ results: [{ status: 'accepted', message: { senderId: 'bob' } }] });
    // a userId field in an ack body is not part of the protocol: the read is carol's, the token's user
    const acked = await s.post('/v1/acks', { ...ackBody('sec-batch-3', 'secmsg04'), userId: 'alice' }, bearer('carol'));
    expect(acked.json).toMatchObject({ results: [{ m: 'secmsg04', s: 'accepted' }] });
    const page = await s.core.memberPage('bob', { type: 'member-page', messageId: 'secmsg04', filter: 'read', count: 10 });
    expect(page.page.members.map((m) => m.userId)).toEqual(['carol']);
    expect((await s.core.queryReceipts('bob', { type: 'receipt-query', messageIds: ['secmsg04'] })).receipts[0]).toMatchObject({ readCount: 1, unreadCount: 1 });
    expect((await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0]).toMatchObject({ readCount: 0 });
  });
});
