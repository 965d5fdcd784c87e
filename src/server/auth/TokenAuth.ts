import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { IdSchema } from '../../protocol';
import * as v from 'valibot';

/** Turns a bearer token into the user it authenticates, or null. Plug in your own (JWT, sessions...). */
export interface Authenticator {
  authenticate(token: string): string | null;
  /** Issues a token for a user; needed only for the dev-mode token route. */
  issue?(userId: string): string;
}

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

  authenticate(token: string): string | null {
    if (token.length > 1024) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
      if (typeof claims.exp !== 'number' || claims.exp <= this.now()) return null;
      return v.is(IdSchema, claims.sub) ? claims.sub : null;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`readsync-token.${body}`).digest('base64url');
  }
}
