/**
 * Memory benchmark (issue 8, item 5): 1,000 event streams that never read
 * (250 users × 4 sockets, all in one group), while a sender keeps posting
 * messages, so every socket is sent the same events and none drains. Without
 * a per-socket cap the server holds everything the kernel did not take; with
 * one it closes each stalled socket (4000) once its buffer would pass
 * `maxBufferedBytesPerSocket`. The server runs in its own process
 * (`spawnLoadServer`); its RSS is read from /proc. Loopback only, bounded
 * in time (at most ~40 s of sending). A report, not a test.
 *
 * Run: npx tsx bench/load/pausedSockets.bench.ts   (or `npm run bench -- sockets`)
 * Env: BENCH_PAUSED_SOCKETS (1000), BENCH_PAUSED_PER_USER (4), BENCH_PAUSED_MIB (MiB sent per socket, 8)
 */
import http from 'node:http';
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { userId } from './loadNames';
import { spawnLoadServer } from './spawnLoadServer';
import type { LoadServer } from './spawnLoadServer';

const SOCKETS = Number(process.env.BENCH_PAUSED_SOCKETS ?? 1000);
const PER_USER = Number(process.env.BENCH_PAUSED_PER_USER ?? 4);
const MIB_PER_SOCKET = Number(process.env.BENCH_PAUSED_MIB ?? 8);
const SEND_SECONDS = 40;
const MESSAGES_PER_POST = 10;
const TEXT = 'x'.repeat(2_000);

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MB`;

function postMessages(server: LoadServer, agent: http.Agent, token: string, n: number): Promise<number> {
  const body = JSON.stringify({
    type: 'send-messages',
    messages: Array.from({ length: MESSAGES_PER_POST }, (_, i) => ({ id: `p${String(n).padStart(7, '0')}x${String(i).padStart(7, '0')}`, convId: 'g0', text: TEXT, needReadReceipt: false, createdAt: 1 })),
  });
  const url = new URL('/v1/messages', server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Client {
  ws: WebSocket;
  code: number | null;
  firstEventBytes: number;
}

function openPaused(server: LoadServer, u: number): Promise<Client> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?token=${encodeURIComponent(server.token(userId(u)))}`);
  const c: Client = { ws, code: null, firstEventBytes: 0 };
  ws.on('close', (code) => (c.code = code));
  ws.on('message', (data: Buffer) => {
    if (c.firstEventBytes === 0 && !String(data).startsWith('{"type":"hello"')) c.firstEventBytes = data.length;
  });
  return new Promise((resolve, reject) => {
    // Paused once open: the hello may wait in the kernel too; nothing is read from here on.
    ws.once('open', () => {
      ws.pause();
      resolve(c);
    });
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  const users = Math.ceil(SOCKETS / PER_USER);
  const before = loadavg()[0] ?? NaN;
  const server = await spawnLoadServer({ users: users + 1, groupSize: users + 1, messagesPerUser: 0 });
  try {
    const idle = server.memory().rss;
    const clients: Client[] = [];
    for (let i = 0; i < SOCKETS; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, (_, k) => openPaused(server, 1 + ((i + k) % users))))));
    }
    const open = server.memory().rss;

    // The sender (user 0, the group's first member) posts in a closed loop.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const token = server.token(userId(0));
    const eventBytes = MESSAGES_PER_POST * (TEXT.length + 250);
    const posts = Math.ceil((MIB_PER_SOCKET * 1024 * 1024) / eventBytes);
    const t0 = performance.now();
    let peak = open;
    let sent = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.memory().rss)), 100);
    for (; sent < posts && performance.now() - t0 < SEND_SECONDS * 1000; sent++) {
      const status = await postMessages(server, agent, token, sent);
      if (status !== 200) throw new Error(`bench: POST /v1/messages answered ${status}`);
    }
    const sendSeconds = (performance.now() - t0) / 1000;
    peak = Math.max(peak, server.memory().rss);
    clearInterval(sampler);
    const afterSend = server.memory().rss;
    agent.destroy();

    // Wake the readers: each reads what reached it, then the close frame if the server closed it.
    for (const c of clients) c.ws.resume();
    const deadline = performance.now() + 15_000;
    while (performance.now() < deadline && clients.some((c) => c.code === null)) await new Promise((r) => setTimeout(r, 50));
    const codes = new Map<string, number>();
    for (const c of clients) codes.set(String(c.code ?? 'open'), (codes.get(String(c.code ?? 'open')) ?? 0) + 1);
    for (const c of clients) c.ws.terminate();
    const eventSize = clients.find((c) => c.firstEventBytes > 0)?.firstEventBytes ?? eventBytes;

    console.log(
      `paused sockets: ${fmt(SOCKETS)} event streams (${fmt(users)} users × ${PER_USER}) that never read, all in one group; server in its own process; load average before ${before.toFixed(2)}`,
    );
    console.log(
      `  sent                 : ${fmt(sent)} posts of ${MESSAGES_PER_POST} messages in ${sendSeconds.toFixed(1)} s = ${fmt(sent)} events of ${fmt(eventSize / 1024)} KB to each socket (${mb(sent * eventSize)} per socket, ${mb(sent * eventSize * SOCKETS)} in all)`,
    );
    console.log(`  server RSS           : ${mb(idle)} idle, ${mb(open)} with the sockets open, peak ${mb(peak)} while sending (+${mb(peak - open)}, ${fmt((peak - open) / SOCKETS / 1024)} KB per socket), ${mb(afterSend)} after`);
    console.log(`  close codes seen     : ${[...codes].map(([code, n]) => `${code} × ${fmt(n)}`).join(', ')} (after the readers resumed)\n`);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
