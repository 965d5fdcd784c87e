import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TokenAuth } from '../../src/server/auth/TokenAuth';
import { startServer } from './httpFixture';

type Server = Awaited<ReturnType<typeof startServer>>;
let s: Server;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.close());

/** Opens the event stream with `token` and resolves with how it ended. */
function sessionEnd(token: string): Promise<{ opened: boolean; code: number; reason: string }> {
  return new Promise((resolve) => {
    let opened = false;
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/events?token=${encodeURIComponent(token)}`);
    ws.on('open', () => (opened = true));
    ws.on('close', (code, reason) => resolve({ opened, code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  });
}

describe('a WebSocket session does not outlive its token', () => {
  it('closes with 4001 token-expired when the token expires', async () => {
    const short = (s.server.auth as TokenAuth).issue('bob', 300);
    const end = await sessionEnd(short);
    expect(end).toMatchObject({ opened: true, code: 4001 });
    expect(end.reason).toMatch(/token expired/);
  });

  it('keeps a session whose token is still valid (30 days) open: the timer does not overflow', async () => {
    const long = (s.server.auth as TokenAuth).issue('bob');
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/events?token=${encodeURIComponent(long)}`);
    const closed: number[] = [];
    ws.on('close', (code) => closed.push(code));
    await new Promise((r) => ws.on('open', r));
    // A token as short as the first test's would have closed by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toEqual([]);
    ws.close();
  });

  it('refuses an already expired token before the upgrade', async () => {
    const expired = new TokenAuth('test-secret-0123456789', { now: () => Date.now() - 3600_000 }).issue('bob', 1000);
    const end = await sessionEnd(expired);
    expect(end.opened).toBe(false);
  });
});
