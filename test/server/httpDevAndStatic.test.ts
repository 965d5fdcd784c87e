import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;

/** A raw GET that does not normalise the path (fetch would resolve "..").  */
function rawGet(url: string, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dev mode', () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer({ config: { devMode: true } });
  });
  afterAll(() => s.close());

  it('issues tokens for demo users and lets them manage conversations', async () => {
    const issued = await s.post('/v1/dev/token', { userId: 'alice' });
    expect(issued).toMatchObject({ status: 200, json: { userId: 'alice', token: expect.any(String) } });
    const auth = { authorization: `Bearer ${issued.json.token as string}` };
    expect((await s.post('/v1/dev/token', { userId: 'not valid!' })).status).toBe(400);

    const c2c = await s.post('/v1/dev/c2c', { peerId: 'bob' }, auth);
    expect(c2c.json).toMatchObject({ conversation: { id: 'c2c:alice:bob', type: 'c2c', name: 'bob', memberCount: 2 } });
    const group = await s.post('/v1/dev/groups', { id: 'lunch', name: 'Lunch', groupType: 'meeting', members: ['bob'] }, auth);
    expect(group.json).toMatchObject({ conversation: { id: 'lunch', groupType: 'meeting', memberCount: 2, receiptsEnabled: true } });
    expect((await s.post('/v1/dev/groups', { id: 'lunch', name: 'Again', groupType: 'work', members: [] }, auth)).json).toMatchObject({ code: 'conflict' });

    const carol = { authorization: `Bearer ${s.token('carol')}` };
    const joined = await fetch(`${s.url}/v1/dev/groups/lunch/join`, { method: 'POST', headers: carol });
    expect(await joined.json()).toMatchObject({ conversation: { memberCount: 3, seq: 1 } });
    const left = await fetch(`${s.url}/v1/dev/groups/lunch/leave`, { method: 'POST', headers: carol });
    expect(await left.json()).toMatchObject({ conversation: { memberCount: 2, seq: 2 } });
    const again = await fetch(`${s.url}/v1/dev/groups/lunch/leave`, { method: 'POST', headers: carol });
    expect(again.status).toBe(403);
    expect((await fetch(`${s.url}/v1/dev/groups/lunch/join`, { method: 'POST' })).status).toBe(401);
  });

  it('answers CORS preflights and exposes Retry-After', async () => {
    const res = await fetch(`${s.url}/v1/acks`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(res.headers.get('access-control-expose-headers')).toContain('retry-after');
  });
});

describe('without dev mode', () => {
  it('has no token route and no CORS', async () => {
    const s = await startServer();
    try {
      // No route at all: a 404 whether or not the caller has a token.
      expect((await s.post('/v1/dev/token', { userId: 'alice' })).status).toBe(404);
      expect((await s.post('/v1/dev/token', { userId: 'alice' }, { authorization: `Bearer ${s.token('alice')}` })).status).toBe(404);
      const res = await fetch(`${s.url}/healthz`, { headers: { origin: 'http://evil.test' } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(await res.json()).toEqual({ ok: true, protocolVersion: 1 });
    } finally {
      await s.close();
    }
  });
});

describe('static app on the same origin', () => {
  let s: Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'readsync-static-'));
    mkdirSync(join(dir, 'app', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'app', 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(dir, 'app', 'assets', 'main-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'app', 'manifest.webmanifest'), '{}');
    writeFileSync(join(dir, 'secret.txt'), 'do not serve');
    s = await startServer({ config: { staticDir: join(dir, 'app') } });
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app shell, hashed assets and SPA routes, and nothing outside its directory', async () => {
    const root = await rawGet(s.url, '/');
    expect(root).toMatchObject({ status: 200, body: expect.stringContaining('<title>demo</title>'), headers: { 'cache-control': 'no-cache' } });
    expect(root.headers['content-type']).toContain('text/html');
    const asset = await rawGet(s.url, '/assets/main-abc123.js');
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await rawGet(s.url, '/manifest.webmanifest')).headers['content-type']).toBe('application/manifest+json');
    expect((await rawGet(s.url, '/conversations/team')).body).toContain('<title>demo</title>');
    expect((await rawGet(s.url, '/assets/missing.js')).status).toBe(404);
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00']) {
      const res = await rawGet(s.url, path);
      expect(res.body).not.toContain('do not serve');
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    // API routes are not shadowed by the app
    expect((await rawGet(s.url, '/v1/config')).status).toBe(401);
  });
});
