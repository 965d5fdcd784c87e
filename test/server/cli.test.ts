import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The command as users run it: a real process, its output and its files.
const CLI = join(import.meta.dirname, '../../src/server/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'readsync-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the command to its end. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Starts the server, waits for its URL, and stops it with SIGTERM. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ url: string; out: string; stop: () => Promise<Run> }> {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', ...args], { env: { ...process.env, PORT: '', HOST: '', READSYNC_SECRET: '', ...env } });
  let out = '';
  let err = '';
  const exited = new Promise<Run>((resolve) => p.on('exit', (code) => resolve({ code, out, err })));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)[^]*storage: [^\n]*\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((r) => reject(new Error(`exited ${r.code}: ${r.err}`)));
  });
  return {
    url,
    get out() {
      return out;
    },
    stop: () => {
      p.kill('SIGTERM');
      return exited;
    },
  };
}

describe('readsync-server', () => {
  it('prints its usage for --help, and says why to prefer READSYNC_SECRET over --secret', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--secret');
    expect(r.out).toMatch(/READSYNC_SECRET[^]*visible to every user of this machine/);
    expect(r.out).toContain('--sqlite-synchronous');
  });

  it('refuses an unknown option with exit code 2 and a pointer to --help', async () => {
    const r = await run(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--help');
  });

  it('treats an empty HOST as unset: binds loopback, not every interface', async () => {
    const s = await serve([], { HOST: '' });
    try {
      expect(new URL(s.url).hostname).toBe('127.0.0.1');
    } finally {
      await s.stop();
    }
  });

  it('creates the database and its secret readable by their owner only', async () => {
    const db = join(dir, 'sub', 'readsync.db');
    const s = await serve(['--db', db]);
    try {
      expect(statSync(db).mode & 0o777).toBe(0o600);
      expect(statSync(`${db}.secret`).mode & 0o777).toBe(0o600);
      expect(s.out).toContain('synchronous=full');
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  });

  it('mints a token with the server’s secret that the server accepts', async () => {
    const db = join(dir, 'tokens.db');
    const s = await serve(['--db', db]);
    try {
      const t = await run(['token', '--user', 'alice', '--db', db, '--ttl', '1h']);
      expect(t.code).toBe(0);
      const token = t.out.trim();
      const ok = await fetch(`${s.url}/v1/config`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      const missing = await run(['token', '--db', db]);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('--user');
    } finally {
      await s.stop();
    }
  });

  it('answers a cross-origin preflight when started with --cors', async () => {
    const s = await serve(['--cors', 'https://app.example.com']);
    try {
      const res = await fetch(`${s.url}/v1/acks`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    } finally {
      await s.stop();
    }
  });
});
