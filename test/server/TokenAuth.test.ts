import { describe, expect, it } from 'vitest';
import { TokenAuth } from '../../src/server/auth/TokenAuth';

const SECRET = 'test-secret-0123456789';

describe('TokenAuth: one token, one spelling', () => {
  const auth = new TokenAuth(SECRET, { ttlMs: 60_000, now: () => 1_000_000 });
  const token = auth.issue('alice');
  const [body, mac] = token.split('.') as [string, string];

  it('accepts the token it issued, with its user and expiry', () => {
    expect(auth.authenticate(token)).toEqual({ userId: 'alice', expiresAt: 1_060_000 });
  });

  it('refuses every other spelling of the same bytes', () => {
    const lastMacChar = mac.at(-1)!;
    // The last base64url character of a 32-byte MAC carries 2 unused bits: flipping them keeps the decoded bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(lastMacChar);
    const sameBytes = alphabet[(idx & ~3) | ((idx + 1) & 3)]!;
    const variants = [
      `${token}!!`,
      `${token}====`,
      `${token}=`,
      `${body}.${mac.slice(0, 10)}~${mac.slice(10)}`,
      `${body}.${mac.slice(0, -1)}${sameBytes}`,
      `${body}.${mac.replaceAll('-', '+').replaceAll('_', '/')}`,
      `${body}=.${mac}`,
      ` ${token}`,
      `${token}\n`,
      `${body}.${mac}.`,
      `${body}..${mac}`,
    ];
    for (const t of variants) {
      if (t === token) continue;
      expect(auth.authenticate(t), JSON.stringify(t)).toBeNull();
    }
  });

  it('refuses an expired token, a token of another secret and a forged body', () => {
    expect(new TokenAuth(SECRET, { ttlMs: 60_000, now: () => 1_060_000 }).authenticate(token)).toBeNull();
    expect(new TokenAuth('another-secret-0123456789', { now: () => 1_000_000 }).authenticate(token)).toBeNull();
    const forgedBody = Buffer.from(JSON.stringify({ sub: 'mallory', exp: 9e15 })).toString('base64url');
    expect(auth.authenticate(`${forgedBody}.${mac}`)).toBeNull();
  });
});
