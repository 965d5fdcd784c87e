import { connect } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TokenAuth } from '../../src/server/auth/TokenAuth';
import { createSyncServer } from '../../src/server/createSyncServer';
import { requireUser } from '../../src/server/http/installAuth';
import { startServer } from './httpFixture';

// Authentication is decided per route (default-deny), never by matching the
// URL string: however a client spells the path, a protected handler either
// runs with the token's user or does not run at all.

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;
let port: number;
const MSG = 'spellmsg';
const calls: string[] = [];

beforeAll(async () => {
  s = await startServer();
  port = Number(new URL(s.url).port);
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: MSG, convId: 'team', text: 'hi', needReadReceipt: true, createdAt: 1 }] });
  // Count every call into the core made by a handler, whoever it claims to be.
  for (const name of ['sendMessages', 'pullMessages', 'ackBatch', 'queryReceipts', 'memberPage', 'getConfig', 'subscribe'] as const) {
    const core = s.core as unknown as Record<string, (...a: unknown[]) => unknown>;
    const original = core[name]!.bind(s.core);
    core[name] = (...args: unknown[]) => {
      calls.push(`${name}(${String(args[0])})`);
      return original(...args);
    };
  }
});
afterAll(() => s.close());
beforeEach(() => {
  calls.length = 0;
});

/** Sends one raw HTTP/1.1 request exactly as written (no URL normalisation) and returns status and body. */
function raw(requestLine: string, body = '', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', reject);
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    const head = [
      requestLine,
      `host: 127.0.0.1:${port}`,
      'connection: close',
      ...(body ? ['content-type: application/json', `content-length: ${Buffer.byteLength(body)}`] : []),
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    sock.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

/** Every way of spelling `/v1/<rest>` that a router might decode or normalise to it. */
function spellings(rest: string): string[] {
  const host = `http://127.0.0.1:${port}`;
  return [
    `/v1/${rest}`,
    `/%761/${rest}`,
    `/v%31/${rest}`,
    `/%76%31/${rest}`,
    `/%2576%2531/${rest}`, // double-encoded
    `/v1/%${rest.charCodeAt(0).toString(16)}${rest.slice(1)}`,
    `${host}/v1/${rest}`, // absolute-form request target
    `${host}/%761/${rest}`,
    `/v1/${rest}/`,
    `/V1/${rest}`,
    `/v1/${rest.toUpperCase()}`,
    `/./v1/${rest}`,
    `/x/../v1/${rest}`,
    `/v1/./${rest}`,
    `//v1/${rest}`,
    `/v1//${rest}`,
    `/v1/${rest}?token=${encodeURIComponent('x')}`,
  ];
}

const routes: [method: string, rest: string, body: unknown][] = [
  ['POST', 'acks', { type: 'ack-batch', batchId: 'spell-batch-1', acks: [{ m: MSG, t: 5 }] }],
  ['POST', 'messages', { type: 'send-messages', messages: [{ id: 'spellmsg2', convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] }],
  ['POST', 'pull', { type: 'pull-messages', since: {} }],
  ['POST', 'receipts', { type: 'receipt-query', messageIds: [MSG] }],
  ['POST', 'members', { type: 'member-page', messageId: MSG, filter: 'unread', count: 10 }],
  ['GET', 'config', ''],
  ['GET', 'events', ''],
];

describe('default-deny authentication, whatever the spelling of the path', () => {
  it('never runs a protected handler without a valid token, for every route and spelling', async () => {
    for (const [method, rest, body] of routes) {
      for (const target of spellings(rest)) {
        const res = await raw(`${method} ${target} HTTP/1.1`, body === '' ? '' : JSON.stringify(body));
        expect([400, 401, 404], `${method} ${target} -> ${res.status} ${res.body.slice(0, 120)}`).toContain(res.status);
      }
    }
    expect(calls).toEqual([]);
    const r = await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] });
    expect(r.receipts[0]).toMatchObject({ readCount: 0 });
    const pulled = await s.core.pullMessages('alice', { type: 'pull-messages', since: {} });
    expect(pulled.messages.map((m) => m.id)).toEqual([MSG]);
  });

  it('runs the handler as the token’s user for any spelling the router accepts', async () => {
    const auth = { authorization: `Bearer ${s.token('bob')}` };
    for (const target of spellings('pull')) {
      calls.length = 0;
      const res = await raw(`POST ${target} HTTP/1.1`, JSON.stringify({ type: 'pull-messages', since: {} }), auth);
      if (res.status === 200) expect(calls, target).toEqual(['pullMessages(bob)']);
      else expect(calls, target).toEqual([]);
    }
  });

  it('opens no event stream without a token, however the path is spelled', async () => {
    const base = s.url.replace('http', 'ws');
    for (const path of ['/v1/events', '/%761/events', '/v%31/events', '/%76%31/events', '/v1/%65vents', '/v1/events/', '/./v1/events']) {
      const outcome = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${base}${path}`);
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        ws.on('error', (e) => resolve(`error ${e.message}`));
      });
      expect(outcome, path).not.toBe('open');
    }
    expect(calls).toEqual([]);
  });

  it('protects a route an embedding app adds, unless it says it is public', async () => {
    const server = await createSyncServer({ config: { secret: 'test-secret-0123456789' } });
    const seen: string[] = [];
    server.app.post('/v1/app/thing', async (req) => {
      seen.push(req.userId);
      return { ok: true };
    });
    server.app.get('/app/open', { config: { public: true } }, async () => ({ open: true }));
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      const token = (server.auth as TokenAuth).issue('carol');
      expect((await fetch(`${url}/v1/app/thing`, { method: 'POST' })).status).toBe(401);
      expect((await fetch(`${url}/%761/app/thing`, { method: 'POST' })).status).toBe(401);
      const ok = await fetch(`${url}/v1/app/thing`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(seen).toEqual(['carol']);
      const open = await fetch(`${url}/app/open`);
      expect(await open.json()).toEqual({ open: true });
    } finally {
      await server.close();
    }
  });
});

describe('requireUser', () => {
  it('fails closed when a protected handler is reached without a user', () => {
    const req = { userId: '' } as unknown as FastifyRequest;
    expect(() => requireUser(req)).toThrow(expect.objectContaining({ code: 'internal' }));
    expect(requireUser({ userId: 'bob' } as unknown as FastifyRequest)).toBe('bob');
  });
});
