/**
 * Load benchmark (issue 8, item 7): N users (default 200) each on their own
 * keep-alive connection, in a closed loop of ack batches and member pages,
 * each with an open event stream, while a probe opens a fresh connection to
 * /healthz every 100 ms. The server runs in its own process
 * (`spawnLoadServer`: SQLite on disk, synchronous=FULL), the probe in its own
 * thread. Loopback only, bounded in time. A report, not a test.
 *
 * Prints accepted acks/s, request latency p50/p99, probe p50/p99/max,
 * timeouts, server RSS and CPU. Bar: probe p99 ≤ 1 s and no timeouts.
 *
 * Run: npx tsx bench/load/busyClients.bench.ts   (or `npm run bench -- load`)
 * Env: BENCH_LOAD_USERS (200), BENCH_LOAD_SECONDS (20), BENCH_LOAD_ACKS (acks per batch, 50),
 *      BENCH_LOAD_EVENTS=0 (no event streams), BENCH_LOAD_SYNCHRONOUS=normal,
 *      BENCH_LOAD_NODES=2 (issue 12: that many node processes on one throwaway PostgreSQL with
 *      its durable defaults; user u talks to node u mod N, as a balancer would spread them; one
 *      probe per node)
 */
import http from 'node:http';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { PostgresStore } from '../../src/server/store/PostgresStore';
import { startPostgres } from '../../test/support/postgres';
import type { TestPostgres } from '../../test/support/postgres';
import { messageId, userId } from './loadNames';
import { spawnLoadServer } from './spawnLoadServer';
import type { LoadServer } from './spawnLoadServer';

const USERS = Number(process.env.BENCH_LOAD_USERS ?? 200);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 20);
const ACKS_PER_BATCH = Number(process.env.BENCH_LOAD_ACKS ?? 50);
const EVENTS = process.env.BENCH_LOAD_EVENTS !== '0';
const SYNCHRONOUS = process.env.BENCH_LOAD_SYNCHRONOUS === 'normal' ? 'normal' : 'full';
const GROUP_SIZE = 50;
const MESSAGES_PER_USER = 20;
const TIMEOUT_MS = 10_000;
const PROBE_EVERY_MS = 100;
const NODES = Number(process.env.BENCH_LOAD_NODES ?? 1);

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MB`;
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** One request on the user's keep-alive agent (POST with a JSON body, GET without); rejects with 'timeout' after TIMEOUT_MS. */
function send(server: LoadServer, agent: http.Agent, token: string, path: string, body?: unknown): Promise<Reply> {
  const data = body === undefined ? '' : JSON.stringify(body);
  const url = new URL(path, server.url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: body === undefined ? 'GET' : 'POST',
        agent,
        timeout: TIMEOUT_MS,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
          authorization: `Bearer ${token}`,
          'x-readsync-protocol': '1',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      reject(new Error('timeout'));
    });
    req.on('error', reject);
    req.end(data);
  });
}

interface Stats {
  latencies: number[];
  acksAnswered: number;
  acksAccepted: number;
  timeouts: number;
  errors: number;
  statuses: Map<number, number>;
}

interface User {
  u: number;
  agent: http.Agent;
  token: string;
}

/** A user with an open keep-alive connection (one warm-up request), so the timed window measures steady load, not 200 connects at once. */
async function connectUser(server: LoadServer, u: number): Promise<User> {
  const user = { u, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), token: server.token(userId(u)) };
  const r = await send(server, user.agent, user.token, '/v1/config');
  if (r.status !== 200) throw new Error(`bench: GET /v1/config answered ${r.status}`);
  return user;
}

/** One user: ack a batch of their group's messages, page one of their own messages' member lists, repeat. */
async function runUser(server: LoadServer, { u, agent, token }: User, until: number, stats: Stats): Promise<void> {
  const group = Math.floor(u / GROUP_SIZE);
  const members = Math.min(GROUP_SIZE, USERS - group * GROUP_SIZE);
  // The group's messages sent by others, in an order of the user's own.
  const targets: string[] = [];
  for (let i = 0; i < MESSAGES_PER_USER; i++) {
    for (let k = 1; k < members; k++) targets.push(messageId(group * GROUP_SIZE + ((u - group * GROUP_SIZE + k) % members), i));
  }
  let next = 0;
  let batch = 0;
  const count = (r: Reply) => {
    stats.latencies.push(r.ms);
    stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1);
  };
  try {
    while (performance.now() < until) {
      try {
        const acks = Array.from({ length: Math.min(ACKS_PER_BATCH, targets.length) }, () => ({ m: targets[next++ % targets.length] as string, t: 1_700_000_000_000 + next }));
        const r = await send(server, agent, token, '/v1/acks', { type: 'ack-batch', batchId: `load-${userId(u)}-${batch++}`, acks });
        count(r);
        if (r.status === 200) {
          const results = (JSON.parse(r.body) as { results: { s: string }[] }).results;
          stats.acksAnswered += results.length;
          stats.acksAccepted += results.filter((x) => x.s === 'accepted').length;
        }
        if (performance.now() >= until) break;
        const page = await send(server, agent, token, '/v1/members', {
          type: 'member-page',
          messageId: messageId(u, batch % MESSAGES_PER_USER),
          filter: batch % 2 === 0 ? 'read' : 'unread',
          count: 100,
        });
        count(page);
      } catch (err) {
        if ((err as Error).message === 'timeout') stats.timeouts++;
        else stats.errors++;
      }
    }
  } finally {
    agent.destroy();
  }
}

/** The user's event stream, read as a client would (frames counted, nothing else). */
function openEvents(server: LoadServer, u: number, frames: { n: number }): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?token=${encodeURIComponent(server.token(userId(u)))}`);
  ws.on('message', () => frames.n++);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  const before = loadavg()[0] ?? NaN;
  const setup = { users: USERS, groupSize: GROUP_SIZE, messagesPerUser: MESSAGES_PER_USER, synchronous: SYNCHRONOUS } as const;
  let pg: TestPostgres | undefined;
  const servers: LoadServer[] = [];
  if (NODES > 1) {
    pg = await startPostgres({ durability: 'durable' });
    await PostgresStore.migrate({ connectionString: pg.url, schema: 'readsync' });
    for (let i = 0; i < NODES; i++) servers.push(await spawnLoadServer({ ...setup, pg: { url: pg.url, schema: 'readsync', seed: i === 0 } }));
  } else servers.push(await spawnLoadServer(setup));
  const serverOf = (u: number) => servers[u % servers.length]!;
  try {
    const frames = { n: 0 };
    const sockets = EVENTS ? await Promise.all(Array.from({ length: USERS }, (_, u) => openEvents(serverOf(u), u, frames))) : [];
    const users = await Promise.all(Array.from({ length: USERS }, (_, u) => connectUser(serverOf(u), u)));
    const stats: Stats = { latencies: [], acksAnswered: 0, acksAccepted: 0, timeouts: 0, errors: 0, statuses: new Map() };
    const cpuAll = () => servers.reduce((sum, x) => sum + x.cpuMs(), 0);
    const cpu0 = cpuAll();
    const ownCpu0 = process.cpuUsage();
    for (const x of servers) x.startLoopDelay();
    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;
    const probes = servers.map(
      (x) => new Worker(new URL('./probeWorker.mjs', import.meta.url), { workerData: { url: x.url, intervalMs: PROBE_EVERY_MS * servers.length, durationMs: SECONDS * 1000, timeoutMs: TIMEOUT_MS } }),
    );
    type Probed = { latencies: number[]; phases: [number, number, number][]; timeouts: number; errors: number };
    const probed = Promise.all(
      probes.map(
        (probe) =>
          new Promise<Probed>((resolve, reject) => {
            probe.once('message', resolve);
            probe.once('error', reject);
          }),
      ),
    ).then((all): Probed => ({ latencies: all.flatMap((x) => x.latencies), phases: all.flatMap((x) => x.phases), timeouts: all.reduce((n, x) => n + x.timeouts, 0), errors: all.reduce((n, x) => n + x.errors, 0) }));
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, ...servers.map((x) => x.memory().rss))), 250);
    await Promise.all(users.map((user) => runUser(serverOf(user.u), user, until, stats)));
    const wall = (performance.now() - t0) / 1000;
    const cpu = (cpuAll() - cpu0) / 1000;
    const own = process.cpuUsage(ownCpu0);
    const ownCpu = (own.user + own.system) / 1e6;
    const loops = await Promise.all(servers.map((x) => x.loopDelay()));
    const loop = { p50: Math.max(...loops.map((l) => l.p50)), p99: Math.max(...loops.map((l) => l.p99)), max: Math.max(...loops.map((l) => l.max)) };
    const p = await probed;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, ...servers.map((x) => x.memory().rss));
    for (const ws of sockets) ws.terminate();
    for (const probe of probes) void probe.terminate();

    const lat = stats.latencies.sort((a, b) => a - b);
    const pl = p.latencies.sort((a, b) => a - b);
    // A timed-out probe counts as slower than any answered one.
    const probeAll = [...pl, ...Array<number>(p.timeouts).fill(Infinity)];
    const probeP99 = percentile(probeAll, 99);
    const pass = probeP99 <= 1000 && stats.timeouts === 0 && p.timeouts === 0;
    const other = [...stats.statuses].filter(([s]) => s !== 200).map(([s, n]) => `${n}× ${s}`);
    console.log(
      `busy clients: ${USERS} users, each a keep-alive connection in a closed loop of ${ACKS_PER_BATCH}-ack batches and member pages${EVENTS ? ', plus an event stream' : ''}; ${SECONDS} s; ${NODES > 1 ? `${NODES} node processes on one PostgreSQL (durable defaults), users spread over them, one probe per node` : `server in its own process (SQLite on disk, synchronous=${SYNCHRONOUS.toUpperCase()})`}; load average before ${fmt(before, 2)}`,
    );
    console.log(`  acks                 : ${fmt(stats.acksAnswered / wall)} answered/s, ${fmt(stats.acksAccepted / wall)} accepted/s`);
    console.log(
      `  requests             : ${fmt(lat.length / wall)}/s; latency p50 ${fmt(percentile(lat, 50))} ms, p99 ${fmt(percentile(lat, 99))} ms, max ${fmt(lat.at(-1) ?? NaN)} ms; timeouts (> ${TIMEOUT_MS / 1000} s) ${stats.timeouts}, errors ${stats.errors}${other.length ? `, non-200: ${other.join(', ')}` : ''}`,
    );
    console.log(
      `  /healthz probe       : ${pl.length + p.timeouts} fresh connections, one per ${PROBE_EVERY_MS} ms: p50 ${fmt(percentile(probeAll, 50))} ms, p99 ${fmt(probeP99)} ms, max ${fmt(pl.at(-1) ?? NaN)} ms; timeouts ${p.timeouts}, errors ${p.errors}`,
    );
    console.log(
      `  server${NODES > 1 ? 's' : ' '}              : RSS peak ${mb(rssPeak)}${NODES > 1 ? ' (largest node)' : ''}, CPU ${fmt((cpu / wall) * 100)} % of one core${NODES > 1 ? ' (nodes together; PostgreSQL not counted)' : ''}, event-loop delay p50 ${fmt(loop.p50)} ms, p99 ${fmt(loop.p99)} ms, max ${fmt(loop.max)} ms${EVENTS ? `; ${fmt(frames.n)} event frames received` : ''}`,
    );
    console.log(`  load generator       : CPU ${fmt((ownCpu / wall) * 100)} % of one core (probe thread included); load average after ${fmt(loadavg()[0] ?? NaN, 2)}`);
    if (process.env.BENCH_VERBOSE) {
      const slow = p.phases.filter(([, , total]) => total > 200).map(([c, f, t]) => `${fmt(c)}/${fmt(f)}/${fmt(t)}`);
      console.log(`  probes over 200 ms   : ${slow.length} (connected / first byte / end, ms): ${slow.slice(0, 20).join(', ')}`);
    }
    console.log(`  bar                  : probe p99 ≤ 1,000 ms and no timeouts: ${pass ? 'PASS' : 'MISS'}\n`);
  } finally {
    for (const x of servers) await x.stop();
    await pg?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
