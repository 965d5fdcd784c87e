/**
 * A busy server still serves new connections. Node accepts at most one
 * connection per event-loop turn, so a turn that runs every pending request's
 * SQLite work back to back keeps a new client waiting for all of it. Here 100
 * keep-alive clients each have a 500-ack batch pending when a fresh
 * connection asks for /healthz; it must be answered before most of those
 * batches are. (No clock: the order of the answers is the measure.)
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;
const READERS = 100;
const ACKS = 500;
const reader = (i: number) => `r${String(i).padStart(4, '0')}`;
const msg = (i: number) => `load${String(i).padStart(8, '0')}`;

beforeAll(async () => {
  s = await startServer();
  await s.core.admin.createGroup({ id: 'big', name: 'Big', groupType: 'work', members: ['alice', ...Array.from({ length: READERS }, (_, i) => reader(i))] });
  for (let b = 0; b < ACKS; b += 100) {
    const messages = Array.from({ length: 100 }, (_, i) => ({ id: msg(b + i), convId: 'big', text: 'x', needReadReceipt: true, createdAt: 1 }));
    await s.core.sendMessages('alice', { type: 'send-messages', messages });
  }
});
afterAll(() => s.close());

function request(agent: http.Agent | false, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const url = new URL(path, s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('new connections under load', () => {
  it('answers /healthz on a fresh connection before most of 100 pending 500-ack batches', async () => {
    const clients = Array.from({ length: READERS }, (_, i) => ({
      agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      headers: { authorization: `Bearer ${s.token(reader(i))}` },
      body: JSON.stringify({ type: 'ack-batch', batchId: `load-batch-${i}`, acks: Array.from({ length: ACKS }, (_, m) => ({ m: msg(m), t: 1_700_000_000_000 + m })) }),
    }));
    try {
      // Every client's connection is open and idle (keep-alive) before the burst.
      await Promise.all(clients.map((c) => request(c.agent, 'GET', '/v1/config', c.headers)));

      let acked = 0;
      const batches = clients.map((c) =>
        request(c.agent, 'POST', '/v1/acks', { ...c.headers, 'content-type': 'application/json' }, c.body).then((status) => {
          expect(status).toBe(200);
          acked++;
        }),
      );
      const ackedBeforeHealthz = await request(false, 'GET', '/healthz').then((status) => {
        expect(status).toBe(200);
        return acked;
      });
      await Promise.all(batches);

      expect(acked).toBe(READERS);
      expect(ackedBeforeHealthz).toBeLessThan(READERS / 2);
    } finally {
      for (const c of clients) c.agent.destroy();
    }
  });
});
