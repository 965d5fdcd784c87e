/**
 * The command as an operator runs it: `readsync-server --pg <url> --migrate`
 * once, then two node processes on one PostgreSQL behind a small round-robin
 * front on loopback (any request to any node, WebSockets included). One node
 * is killed with SIGKILL while clients keep flushing through the front:
 * nothing is lost or counted twice.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AckBatchResponse, ServerEvent } from '../../src/protocol';
import { POSTGRES_SCHEMA_VERSION } from '../../src/server/store/postgresMigrations';
import { HttpTransport } from '../../worker/transport/HttpTransport';
import { startPostgres } from '../support/postgres';
import type { TestPostgres } from '../support/postgres';
import { NodeWebSocket } from './httpFixture';

const CLI = join(import.meta.dirname, '../../src/server/cli.ts');
const SECRET = 'multi-node-secret-0123456789';
let cluster: TestPostgres;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await cluster?.stop();
});

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, READSYNC_SECRET: SECRET } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** A node process; resolves with its port once it listens. */
function node(url: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, '--pg', url, '--port', '0', '--dev'], { env: { ...process.env, READSYNC_SECRET: SECRET, PORT: '', HOST: '' } });
  procs.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m?.[1]) resolve({ proc, port: Number(m[1]) });
    });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => reject(new Error(`node exited ${code}: ${err}`)));
  });
}

/** Round-robin over the live ports: HTTP requests and WebSocket upgrades; a dead node is skipped. */
function front(ports: () => number[]): Promise<{ url: string; close: () => void }> {
  let next = 0;
  const pick = () => {
    const live = ports();
    return live[next++ % live.length]!;
  };
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () => {
      const attempt = (tries: number) => {
        const up = http.request({ host: '127.0.0.1', port: pick(), method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        // Connection refused before anything was sent: another node takes it. A request cut after it
        // was sent is answered 502, as a real balancer would: the client retries.
        up.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED' && tries > 0) attempt(tries - 1);
          else if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        });
        up.end(Buffer.concat(body));
      };
      attempt(2);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(pick(), '127.0.0.1', () => {
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close() })));
}

const mid = (n: number) => `msg${String(n).padStart(6, '0')}`;

describe('node processes behind a round-robin front', () => {
  it('migrates once, serves from any node, and loses or doubles nothing when a node is killed mid-flush', async () => {
    const migrated = await run(['--pg', cluster.url, '--migrate']);
    expect(migrated.code).toBe(0);
    expect(migrated.out).toMatch(new RegExp(`migrated from version 0 to ${POSTGRES_SCHEMA_VERSION}\\b`));
    expect((await run(['--pg', cluster.url, '--migrate'])).out).toMatch(/up to date/);
    const missingSecret = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', CLI, '--pg', cluster.url, '--port', '0'], { env: { ...process.env, READSYNC_SECRET: '' } });
      p.on('exit', resolve);
    });
    expect(missingSecret).toBe(2);

    const nodes = await Promise.all([node(cluster.url), node(cluster.url)]);
    const alive = new Set(nodes.map((n) => n.port));
    const lb = await front(() => [...alive]);
    try {
      const token = async (userId: string) => ((await (await fetch(`${lb.url}/v1/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) })).json()) as { token: string }).token;
      const transport = async (userId: string) => new HttpTransport({ serverUrl: lb.url, token: await token(userId), WebSocket: NodeWebSocket, reconnect: { baseMs: 20, maxMs: 200 } });
      const alice = await transport('alice');
      const created = await fetch(`${lb.url}/v1/dev/groups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('alice')}` },
        body: JSON.stringify({ id: 'crew', name: 'Crew', groupType: 'work', members: ['bob', 'carol'] }),
      });
      expect(created.status).toBe(200);
      const N = 300;
      for (let i = 0; i < N; i += 100) {
        await alice.sendMessages({ type: 'send-messages', messages: Array.from({ length: 100 }, (_, k) => ({ id: mid(i + k), convId: 'crew', text: 'x', needReadReceipt: true, createdAt: 1 })) });
      }
      // alice listens through the front (on whichever node it picks)
      const events: ServerEvent[] = [];
      const stopEvents = alice.openEvents(null, { onEvent: (e) => events.push(e), onStatus: () => undefined });

      // bob and carol flush 30 batches of 10 each, like the outbox: a failed request is retried with the same batch id
      const flush = async (user: string) => {
        const t = await transport(user);
        for (let b = 0; b < N / 10; b++) {
          const req = { type: 'ack-batch' as const, batchId: `${user}-batch-${b}`, acks: Array.from({ length: 10 }, (_, k) => ({ m: mid(b * 10 + k), t: b })) };
          let res: AckBatchResponse | undefined;
          for (let attempt = 0; !res; attempt++) {
            res = await t.ackBatch(req).catch((err: { retryable?: boolean }) => {
              if (!err.retryable || attempt > 50) throw err;
              return new Promise<undefined>((r) => setTimeout(() => r(undefined), 20));
            });
          }
          expect(res.results.every((r) => r.s === 'accepted' || r.s === 'duplicate')).toBe(true);
        }
      };
      const flushing = Promise.all([flush('bob'), flush('carol')]);
      // kill one node while both are flushing
      await vi.waitFor(async () => {
        const r = await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(40)] });
        expect(r.receipts[0]?.readCount).toBeGreaterThan(0);
      }, { timeout: 20_000, interval: 20 });
      const victim = nodes[0]!;
      alive.delete(victim.port);
      victim.proc.kill('SIGKILL');
      await flushing;

      // every message read by both, exactly once each
      const receipts = (await alice.queryReceipts({ type: 'receipt-query', messageIds: Array.from({ length: N }, (_, i) => mid(i)).slice(0, 300) })).receipts;
      expect(receipts.map((r) => r.readCount)).toEqual(Array.from({ length: N }, () => 2));
      const db = new pg.Client(cluster.url);
      await db.connect();
      expect((await db.query('SELECT count(*)::int AS n FROM readsync.reads')).rows[0]).toEqual({ n: 2 * N });
      await db.end();
      // alice's stream (reconnected through the front if it was on the killed node) ends at the final state
      await vi.waitFor(() => {
        const last = new Map<string, number>();
        for (const e of events) if (e.type === 'receipts') for (const r of e.receipts) last.set(r.messageId, Math.max(last.get(r.messageId) ?? 0, r.readCount));
        expect(last.size).toBe(N);
        expect([...last.values()].every((c) => c === 2)).toBe(true);
      }, { timeout: 20_000, interval: 50 });
      stopEvents();
    } finally {
      lb.close();
    }
  }, 120_000);
});
