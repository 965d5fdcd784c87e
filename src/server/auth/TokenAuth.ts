import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { IdSchema } from '../../protocol';
import * as v from 'valibot';

/** A token's user, and optionally when the token expires (ms since the epoch). */
export interface AuthenticatedUser {
  userId: string;
  /** After this the server closes WebSockets opened with the token (close code 4001, `token-expired`). */
  expiresAt?: number;
}

/**
 * Turns a bearer token into the user it authenticates, or null. Plug in your
 * own (JWT, sessions...): return the user id, or `{ userId, expiresAt }` so
 * that long-lived WebSockets end when their token does.
 */
export interface Authenticator {
  authenticate(token: string): string | AuthenticatedUser | null;
  /** Issues a token for a user; needed only for the dev-mode token route. */
  issue?(userId: string): string;
}

/** `<body>.<mac>`: unpadded base64url, a 32-byte HMAC-SHA256 is exactly 43 characters. */
const TOKEN = /^([A-Za-z0-9_-]{1,960})\.([A-Za-z0-9_-]{43})$/;

/** Options of `TokenAuth`. */
export interface TokenAuthOptions {
  /** Token lifetime in ms. Default 30 days. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Stateless signed bearer tokens: `base64url({"sub","exp"}).base64url(HMAC-SHA256)`
 * with a server secret. Anyone holding the secret can mint tokens, so keep it
 * out of clients; the dev-mode route is the only place the server issues them.
 */
export class TokenAuth implements Authenticator {
  private readonly secret: string;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(secret: string = randomBytes(32).toString('hex'), options: TokenAuthOptions = {}) {
    if (secret.length < 16) throw new Error('TokenAuth: the secret must be at least 16 characters');
    this.secret = secret;
    this.ttlMs = options.ttlMs ?? 30 * 24 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  issue(userId: string, ttlMs = this.ttlMs): string {
    v.parse(IdSchema, userId);
    const body = Buffer.from(JSON.stringify({ sub: userId, exp: this.now() + ttlMs })).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  authenticate(token: string): AuthenticatedUser | null {
    // One token, one spelling: only the canonical base64url of both parts is
    // accepted (no padding, no stray characters, no unused bits set), so a
    // token cannot be varied to slip past a cache, a log filter or a revocation list.
    const m = TOKEN.exec(token);
    if (!m) return null;
    const [, body = '', mac = ''] = m;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const json = Buffer.from(body, 'base64url');
      if (json.toString('base64url') !== body) return null;
      const claims = JSON.parse(json.toString('utf8')) as { sub?: unknown; exp?: unknown };
      if (typeof claims.exp !== 'number' || claims.exp <= this.now()) return null;
      return v.is(IdSchema, claims.sub) ? { userId: claims.sub, expiresAt: claims.exp } : null;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`readsync-token.${body}`).digest('base64url');
  }
}
