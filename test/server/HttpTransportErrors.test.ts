import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '../../src/protocol';
import { ReadSyncError } from '../../src/protocol';
import type { WebSocketCtor, WebSocketLike } from '../../worker/transport/HttpEventStream';
import { HttpTransport } from '../../worker/transport/HttpTransport';
import { parseRetryAfter } from '../../worker/transport/httpError';
import type { EventStreamStatus } from '../../worker/transport/Transport';
import { startServer } from './httpFixture';

const config = { protocolVersion: 1, receiptGroupTypes: ['work'], limits: { maxAckBatch: 500, maxMessageBatch: 100, maxReceiptQuery: 500, maxMemberPage: 100, maxBodyBytes: 262144 } };

function withFetch(respond: (url: string, init: RequestInit) => Promise<Response> | Response) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return respond(url, init);
  }) as unknown as typeof fetch;
  return { calls, transport: new HttpTransport({ serverUrl: 'http://server.test/', token: 'tok', fetch: fetchFn, timeoutMs: 1000 }) };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const ack = { type: 'ack-batch' as const, batchId: 'batch-0001', acks: [{ m: 'm0000001', t: 1 }] };

describe('HttpTransport error classes', () => {
  afterEach(() => vi.useRealTimers());

  it('sends the bearer token and protocol version, and validates the response', async () => {
    const { calls, transport } = withFetch(() => json(200, config));
    await expect(transport.getConfig()).resolves.toEqual(config);
    expect(calls[0]?.url).toBe('http://server.test/v1/config');
    expect(calls[0]?.init.headers).toMatchObject({ authorization: 'Bearer tok', 'x-readsync-protocol': '1' });
  });

  it('maps a refused connection to a retryable network error', async () => {
    const { transport } = withFetch(() => Promise.reject(new TypeError('fetch failed')));
    await expect(transport.ackBatch(ack)).rejects.toMatchObject({ code: 'network', retryable: true });
  });

  it('aborts a request that takes longer than timeoutMs, as a network error', async () => {
    vi.useFakeTimers();
    const { transport } = withFetch(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
    );
    const p = transport.ackBatch(ack).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1001);
    expect(await p).toMatchObject({ code: 'network', message: expect.stringContaining('timed out') });
  });

  it('maps 5xx and 408 to `server`, 429 to `rate-limited` with Retry-After in seconds or as a date', async () => {
    const cases: [Response, Record<string, unknown>][] = [
      [json(503, { name: 'x', code: 'internal', message: 'down' }, { 'retry-after': '7' }), { code: 'server', status: 503, retryAfterMs: 7000, retryable: true }],
      [new Response('<html>bad gateway</html>', { status: 502 }), { code: 'server', status: 502, retryable: true }],
      [new Response('', { status: 408 }), { code: 'server', status: 408, retryable: true }],
      [json(429, { name: 'x', code: 'rate-limited', message: 'slow down' }, { 'retry-after': '2' }), { code: 'rate-limited', retryAfterMs: 2000, retryable: true }],
    ];
    for (const [res, expected] of cases) {
      const { transport } = withFetch(() => res);
      const err = await transport.ackBatch(ack).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReadSyncError);
      expect(err).toMatchObject(expected);
    }
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('keeps the code of other 4xx bodies and makes them permanent', async () => {
    for (const [status, code] of [
      [403, 'not-sender'],
      [400, 'invalid-argument'],
      [401, 'unauthenticated'],
      [413, 'payload-too-large'],
    ] as const) {
      const { transport } = withFetch(() => json(status, { name: 'E', code, message: 'no' }));
      await expect(transport.memberPage({ type: 'member-page', messageId: 'm0000001', filter: 'read', count: 1 })).rejects.toMatchObject({ code, status, retryable: false });
    }
    const { transport } = withFetch(() => new Response('nope', { status: 404 }));
    await expect(transport.ackBatch(ack)).rejects.toMatchObject({ code: 'not-found', retryable: false });
  });

  it('refuses a 2xx body that is not JSON or fails the schema, as bad-payload', async () => {
    for (const res of [new Response('<html>', { status: 200 }), json(200, { type: 'ack-batch-result', batchId: 'batch-0001', results: [{ m: 'x', s: 'maybe' }] })]) {
      const { transport } = withFetch(() => res);
      await expect(transport.ackBatch(ack)).rejects.toMatchObject({ code: 'bad-payload', retryable: false });
    }
  });
});

describe('HttpTransport event stream', () => {
  afterEach(() => vi.useRealTimers());

  it('drops invalid frames and reconnects with backoff, resuming from the last cursor', async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    class FakeSocket implements WebSocketLike {
      readyState = 0;
      onopen: ((ev: unknown) => void) | null = null;
      onmessage: ((ev: { data: unknown }) => void) | null = null;
      onclose: ((ev: { code?: number }) => void) | null = null;
      onerror: ((ev: unknown) => void) | null = null;
      constructor(readonly url: string) {
        sockets.push(this);
      }
      close() {
        this.readyState = 3;
      }
    }
    const t = new HttpTransport({ serverUrl: 'https://server.test', token: 'tok', fetch: (() => 0) as unknown as typeof fetch, WebSocket: FakeSocket as unknown as WebSocketCtor, reconnect: { baseMs: 100, maxMs: 1000, random: () => 1 } });
    const events: ServerEvent[] = [];
    const statuses: EventStreamStatus[] = [];
    const close = t.openEvents(5, { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
    expect(sockets[0]?.url).toBe('wss://server.test/v1/events?token=tok&since=5');
    sockets[0]!.onopen?.({});
    sockets[0]!.onmessage?.({ data: JSON.stringify({ type: 'hello', protocolVersion: 1, userId: 'alice', config, cursor: 9 }) });
    sockets[0]!.onmessage?.({ data: '{"type":"receipts","receipts":[],"cursor":-1}' });
    sockets[0]!.onmessage?.({ data: 'not json' });
    sockets[0]!.onmessage?.({ data: JSON.stringify({ type: 'receipts', receipts: [], cursor: 8 }) });
    expect(events.map((e) => e.type)).toEqual(['hello', 'receipts']);
    sockets[0]!.onclose?.({ code: 1006 });
    expect(statuses).toEqual(['connecting', 'open', 'closed']);
    await vi.advanceTimersByTimeAsync(99);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets[1]?.url).toBe('wss://server.test/v1/events?token=tok&since=8');
    sockets[1]!.onclose?.({ code: 1006 }); // failed again: twice the delay
    await vi.advanceTimersByTimeAsync(199);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);
    close();
    sockets[2]!.onclose?.({ code: 1000 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets).toHaveLength(3);
    expect(statuses.at(-1)).toBe('closed');
  });

  it('resumes after the server drops the socket without missing a receipt update', async () => {
    const s = await startServer();
    try {
      await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      // reconnect slowly enough that the next ack surely lands while alice is away: it must come by replay
      const alice = s.transport('alice', { reconnect: { baseMs: 300, maxMs: 300, random: () => 1 } });
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2].map((n) => ({ id: `msg0000${n}`, convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 })) });
      const events: ServerEvent[] = [];
      const statuses: EventStreamStatus[] = [];
      const close = alice.openEvents(null, { onEvent: (e) => events.push(e), onStatus: (st) => statuses.push(st) });
      const until = async (cond: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        expect(cond()).toBe(true);
      };
      await until(() => events.length > 0);
      await s.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'resume-b1', acks: [{ m: 'msg00001', t: 1 }] });
      await until(() => events.some((e) => e.type === 'receipts'));
      for (const c of s.server.app.websocketServer.clients) c.terminate();
      await until(() => statuses.includes('closed'));
      // while alice is disconnected
      await s.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'resume-b2', acks: [{ m: 'msg00002', t: 2 }] });
      expect(statuses.filter((x) => x === 'open')).toHaveLength(1);
      await until(() => events.filter((e) => e.type === 'receipts').length >= 2);
      const receipts = events.filter((e) => e.type === 'receipts').flatMap((e) => e.receipts.map((r) => `${r.messageId}:${r.readCount}`));
      expect(receipts).toEqual(['msg00001:1', 'msg00002:1']);
      expect(statuses.filter((x) => x === 'open')).toHaveLength(2);
      close();
    } finally {
      await s.close();
    }
  });
});
