/**
 * Memory per user is bounded on the event stream: a user's sockets are
 * capped (the oldest is closed with 4002), and a socket whose reader stops
 * reading is closed with 4000 before the server buffers more than
 * `maxBufferedBytesPerSocket` for it. Real server, real WebSockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SyncServerConfig } from '../../src/server/createSyncServer';
import { DEFAULT_MAX_BUFFERED_BYTES_PER_SOCKET, WS_CLOSE_RECONNECT, WS_CLOSE_TOO_MANY_CONNECTIONS } from '../../src/server/http/registerEventsRoute';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server | undefined;
const opened: WebSocket[] = [];

afterEach(async () => {
  for (const ws of opened.splice(0)) ws.terminate();
  await s?.close();
  s = undefined;
});

async function serverWith(config: SyncServerConfig = {}): Promise<Server> {
  s = await startServer({ config });
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  return s;
}

/** A raw event-stream socket of `userId`, resolved once its `hello` arrived; it records the frames it receives and its close code. */
async function connect(server: Server, userId: string) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?token=${encodeURIComponent(server.token(userId))}`);
  opened.push(ws);
  const frames: { type: string }[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string };
      frames.push(event);
      if (event.type === 'hello') resolve();
    });
    ws.on('error', reject);
  });
  return { ws, frames, closed };
}

/** Server-side sockets still open: an evicted one is CLOSING as soon as the newcomer's `hello` is sent. */
const openOnServer = (server: Server) => [...server.server.app.websocketServer.clients].filter((c) => c.readyState === WebSocket.OPEN).length;

let msgNo = 0;
/** Alice sends `count` messages to the team; every connected member gets one `messages` event. */
async function send(server: Server, count = 1, text = 'hi') {
  const messages = Array.from({ length: count }, () => ({ id: `m${String(++msgNo).padStart(9, '0')}`, convId: 'team', text, needReadReceipt: true, createdAt: 1 }));
  await server.core.sendMessages('alice', { type: 'send-messages', messages });
}

/** Waits until every socket has received `n` frames of `type` (delivery is asynchronous; no sleeping). */
async function received(sockets: { ws: WebSocket; frames: { type: string }[] }[], type: string, n: number) {
  await Promise.all(
    sockets.map(
      (c) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (c.frames.filter((f) => f.type === type).length >= n) {
              c.ws.off('message', check);
              resolve();
            }
          };
          c.ws.on('message', check);
          check();
        }),
    ),
  );
}

describe('event stream: sockets per user', () => {
  it('keeps at most 16 sockets of one user by default: the 17th closes the oldest with 4002, the others and other users keep streaming', async () => {
    const server = await serverWith();
    const bob = await connect(server, 'bob');
    const alice = [];
    for (let i = 0; i < 17; i++) alice.push(await connect(server, 'alice'));

    expect(openOnServer(server)).toBe(1 + 16);
    expect(await alice[0]!.closed).toBe(WS_CLOSE_TOO_MANY_CONNECTIONS);
    await send(server);
    const live = [bob, ...alice.slice(1)];
    await received(live, 'messages', 1);
    for (const c of live) expect(c.ws.readyState).toBe(WebSocket.OPEN);
    expect(alice[0]!.frames.filter((f) => f.type === 'messages')).toHaveLength(0);
  });

  it('follows maxSocketsPerUser, closing the oldest socket each time', async () => {
    const server = await serverWith({ maxSocketsPerUser: 2 });
    const first = await connect(server, 'alice');
    const second = await connect(server, 'alice');
    await connect(server, 'alice');
    expect(openOnServer(server)).toBe(2);
    expect(await first.closed).toBe(WS_CLOSE_TOO_MANY_CONNECTIONS);
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
    await connect(server, 'alice');
    expect(openOnServer(server)).toBe(2);
    expect(await second.closed).toBe(WS_CLOSE_TOO_MANY_CONNECTIONS);
    // A closed socket leaves room: bob's two are both kept.
    const bobs = [await connect(server, 'bob'), await connect(server, 'bob')];
    expect(openOnServer(server)).toBe(4);
    await send(server);
    await received(bobs, 'messages', 1);
  });
});

describe('event stream: bytes buffered per socket', () => {
  /**
   * Bob stops reading; alice keeps sending. The kernel's socket buffers fill
   * first, then the server's own buffer for that socket grows until the cap
   * closes the socket. The server-side socket's `bufferedAmount` (bytes held
   * in this process) is watched after every event.
   */
  async function pausedReaderPeak(config: SyncServerConfig) {
    const server = await serverWith(config);
    const bob = await connect(server, 'bob');
    const [serverSide] = [...server.server.app.websocketServer.clients];
    if (!serverSide) throw new Error('no server-side socket');
    bob.ws.pause();
    let peak = 0;
    // ~12 KB per event; bounded so a broken cap ends the loop too (80 MB in all).
    for (let i = 0; i < 7_000 && serverSide.readyState === WebSocket.OPEN; i++) {
      await send(server, 10, 'x'.repeat(1_000));
      peak = Math.max(peak, serverSide.bufferedAmount);
    }
    const stillOpen = serverSide.readyState === WebSocket.OPEN;
    bob.ws.resume(); // the reader wakes up: it reads what was buffered, then the close frame
    return { peak, stillOpen, code: stillOpen ? null : await bob.closed };
  }

  it(`closes a socket that stops reading with 4000 before it buffers more than the default (${DEFAULT_MAX_BUFFERED_BYTES_PER_SOCKET} bytes)`, async () => {
    const r = await pausedReaderPeak({});
    expect(r.stillOpen).toBe(false);
    expect(r.peak).toBeLessThanOrEqual(DEFAULT_MAX_BUFFERED_BYTES_PER_SOCKET);
    expect(r.code).toBe(WS_CLOSE_RECONNECT);
  });

  it('follows maxBufferedBytesPerSocket', async () => {
    const cap = 64 * 1024;
    const r = await pausedReaderPeak({ maxBufferedBytesPerSocket: cap });
    expect(r.stillOpen).toBe(false);
    expect(r.peak).toBeLessThanOrEqual(cap);
    expect(r.code).toBe(WS_CLOSE_RECONNECT);
  });
});
