import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;
const MSG = 'badmsg01';

beforeAll(async () => {
  s = await startServer();
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: MSG, convId: 'team', text: 'hi', needReadReceipt: true, createdAt: 1 }] });
});
afterAll(() => s.close());

const as = (userId: string) => ({ authorization: `Bearer ${s.token(userId)}` });
const readCount = async () => (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0]?.readCount;
const messageIds = async () => (await s.core.pullMessages('alice', { type: 'pull-messages', since: {} })).messages.map((m) => m.id);

describe('HTTP bad input: a clear 4xx JSON error, nothing stored', () => {
  it('refuses malformed JSON and wrong types with invalid-argument naming the field', async () => {
    const cases: [string, unknown][] = [
      ['/v1/acks', '{"type":"ack-batch","batchId":'],
      ['/v1/acks', 'null'],
      ['/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-1', acks: 'all of them' }],
      ['/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-2', acks: [{ m: MSG, t: 'yesterday' }] }],
      ['/v1/acks', { type: 'ack-batch', batchId: 'x', acks: [{ m: MSG, t: 5 }] }],
      ['/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-3', acks: [] }],
      ['/v1/acks', { type: 'send-messages', batchId: 'bad-batch-4', acks: [{ m: MSG, t: 5 }] }],
      ['/v1/messages', { type: 'send-messages', messages: [{ id: 'short', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] }],
      ['/v1/messages', { type: 'send-messages', messages: [{ id: 'badmsg02', convId: 'team', text: 'x'.repeat(4001), needReadReceipt: true, createdAt: 1 }] }],
      ['/v1/members', { type: 'member-page', messageId: MSG, filter: 'everyone', count: 10 }],
      ['/v1/members', { type: 'member-page', messageId: MSG, filter: 'read', count: 0 }],
      ['/v1/pull', { type: 'pull-messages', since: { team: -1 } }],
    ];
    for (const [path, body] of cases) {
      const res = await s.post(path, body, as('bob'));
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
      expect(res.json).toMatchObject({ code: 'invalid-argument', name: 'ValidationError', message: expect.any(String) });
    }
    const typed = await s.post('/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-2', acks: [{ m: MSG, t: 'yesterday' }] }, as('bob'));
    expect(typed.json.message).toContain('acks.0.t');
    expect(await readCount()).toBe(0);
    expect(await messageIds()).toEqual([MSG]);
  });

  it('refuses a wrong content type and a wrong protocol version', async () => {
    const xml = await fetch(`${s.url}/v1/acks`, { method: 'POST', headers: { ...as('bob'), 'content-type': 'application/xml' }, body: '<ack/>' });
    expect(xml.status).toBe(415);
    expect(await xml.json()).toMatchObject({ code: 'invalid-argument' });
    // text/plain is what a form or a no-preflight fetch sends: 415 whatever it holds, even well-formed JSON.
    for (const body of ['ack', JSON.stringify({ type: 'ack-batch', batchId: 'bad-batch-6', acks: [{ m: MSG, t: 5 }] })]) {
      const text = await fetch(`${s.url}/v1/acks`, { method: 'POST', headers: { ...as('bob'), 'content-type': 'text/plain' }, body });
      expect(text.status).toBe(415);
      expect(await text.json()).toMatchObject({ code: 'invalid-argument', status: 415 });
    }
    const v2 = await s.post('/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-5', acks: [{ m: MSG, t: 5 }] }, { ...as('bob'), 'x-readsync-protocol': '2' });
    expect(v2).toMatchObject({ status: 400, json: { code: 'unsupported-protocol' } });
    expect(await readCount()).toBe(0);
  });

  it('refuses oversized bodies (413) and oversized batches (400) as a whole', async () => {
    const huge = { type: 'send-messages', messages: [{ id: 'badmsg03', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }], pad: 'x'.repeat(300_000) };
    const big = await s.post('/v1/messages', huge, as('bob'));
    expect(big).toMatchObject({ status: 413, json: { code: 'payload-too-large' } });
    const acks = Array.from({ length: 501 }, (_, i) => ({ m: i === 0 ? MSG : `badack${String(i).padStart(4, '0')}`, t: 5 }));
    const many = await s.post('/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-6', acks }, as('bob'));
    expect(many).toMatchObject({ status: 400, json: { code: 'invalid-argument', details: { limit: 500 } } });
    const ids = Array.from({ length: 501 }, (_, i) => `badq${String(i).padStart(5, '0')}`);
    expect((await s.post('/v1/receipts', { type: 'receipt-query', messageIds: ids }, as('alice'))).status).toBe(400);
    expect(await readCount()).toBe(0);
    expect(await messageIds()).toEqual([MSG]);
  });

  it('answers unknown message ids per item, or 404 for a member page, and unknown routes with 404 JSON', async () => {
    const acked = await s.post('/v1/acks', { type: 'ack-batch', batchId: 'bad-batch-7', acks: [{ m: 'nosuchmsg', t: 5 }] }, as('bob'));
    expect(acked).toMatchObject({ status: 200, json: { results: [{ m: 'nosuchmsg', s: 'rejected', r: 'not-found' }] } });
    const page = await s.post('/v1/members', { type: 'member-page', messageId: 'nosuchmsg', filter: 'read', count: 5 }, as('alice'));
    expect(page).toMatchObject({ status: 404, json: { code: 'not-found' } });
    const route = await s.post('/v1/nothing', {}, as('alice'));
    expect(route).toMatchObject({ status: 404, json: { code: 'not-found' } });
  });

  it('refuses a tampered member-page cursor with 400', async () => {
    const first = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 1 }, as('alice'));
    const cursor = (first.json.page as { nextCursor: string }).nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const [body, sig] = cursor.split('.') as [string, string];
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forgedBody = Buffer.from(JSON.stringify({ ...decoded, k: '' })).toString('base64url');
    for (const bad of [`${forgedBody}.${sig}`, `${body}.${sig.slice(0, -2)}xx`, `${body}`, 'x'.repeat(513)]) {
      const res = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 1, cursor: bad }, as('alice'));
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'invalid-argument' });
    }
    const next = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 1, cursor }, as('alice'));
    expect(next.json).toMatchObject({ page: { members: [{ userId: 'carol' }], isFinished: true, nextCursor: null } });
  });
});

describe('HTTP idempotency', () => {
  it('counts the same ack batch once, sent three times concurrently and then three times in sequence', async () => {
    await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: 'idemmsg1', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] });
    const body = { type: 'ack-batch', batchId: 'idem-batch-1', acks: [{ m: 'idemmsg1', t: 9 }] };
    const concurrent = await Promise.all([1, 2, 3].map(() => s.post('/v1/acks', body, as('bob'))));
    const sequential = [];
    for (let i = 0; i < 3; i++) sequential.push(await s.post('/v1/acks', body, as('bob')));
    for (const r of [...concurrent, ...sequential]) {
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ type: 'ack-batch-result', batchId: 'idem-batch-1', results: [{ m: 'idemmsg1', s: 'accepted' }] });
    }
    // the same acks under fresh batch ids, concurrently: duplicates, still once
    const fresh = await Promise.all([1, 2, 3].map((n) => s.post('/v1/acks', { ...body, batchId: `idem-batch-x${n}` }, as('bob'))));
    expect(fresh.map((r) => (r.json.results as { s: string }[])[0]?.s)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    const r = await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: ['idemmsg1'] });
    expect(r.receipts[0]).toMatchObject({ readCount: 1, unreadCount: 1, timestamp: 9 });
  });

  it('returns a resent message as duplicate with the stored message, not a second copy', async () => {
    const body = { type: 'send-messages', messages: [{ id: 'idemmsg2', convId: 'team', text: 'once', needReadReceipt: true, createdAt: 1 }] };
    const results = await Promise.all([1, 2, 3].map(() => s.post('/v1/messages', body, as('carol'))));
    const statuses = results.map((r) => (r.json.results as { status: string }[])[0]?.status).sort();
    expect(statuses).toEqual(['accepted', 'duplicate', 'duplicate']);
    const pulled = await s.core.pullMessages('carol', { type: 'pull-messages', since: {} });
    expect(pulled.messages.filter((m) => m.id === 'idemmsg2')).toHaveLength(1);
  });
});
