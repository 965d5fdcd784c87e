import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError, PROTOCOL_VERSION, ReadSyncError } from '../../protocol';
import type { Authenticator } from '../auth/TokenAuth';
import type { RateLimiter } from './RateLimiter';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (from the bearer token). Never empty inside a protected handler. */
    userId: string;
    /** When the request's token expires (ms since the epoch), or null if the authenticator did not say. */
    tokenExpiresAt: number | null;
  }
  interface FastifyContextConfig {
    /** The route runs without a user. Every other route needs a valid bearer token (default-deny). */
    public?: boolean;
    /** The route also takes the token as a `token` query parameter (WebSocket upgrades: browsers cannot set headers). */
    tokenInQuery?: boolean;
  }
}

/**
 * Default-deny authentication, decided per route and never by matching the
 * URL: the hook sits on the root scope, so it runs for every route Fastify
 * matched, whatever spelling of the path (percent-escapes, absolute form,
 * dot segments) the router accepted, including routes an embedding app adds
 * later. A route is public only if its options say `config: { public: true }`.
 * Requests that match no route reach only the 404 handler.
 *
 * A second hook, just before the handler, refuses to run a protected handler
 * without a user, so a future hook-ordering mistake fails closed.
 */
export function installAuth(app: FastifyInstance, auth: Authenticator, limiter: RateLimiter | null): void {
  app.decorateRequest('userId', '');
  app.decorateRequest('tokenExpiresAt', null);

  app.addHook('onRequest', async (req) => {
    const version = req.headers['x-readsync-protocol'];
    if (version !== undefined && version !== String(PROTOCOL_VERSION)) {
      throw new ReadSyncError('unsupported-protocol', `this server speaks protocol ${PROTOCOL_VERSION}, not ${String(version)}`, { status: 400 });
    }
    if (req.is404 || isPublic(req)) return;
    const { userId, expiresAt } = authenticate(auth, req);
    const claimed = claimedUser(req);
    if (claimed !== undefined && claimed !== userId) {
      // The client acts for another user than the token's: refuse before anything is applied as the wrong person.
      throw new ReadSyncError('wrong-user', `this token authenticates another user than "${claimed.slice(0, 64)}"`, { status: 401 });
    }
    req.userId = userId;
    req.tokenExpiresAt = expiresAt;
    const waitMs = limiter?.take(userId) ?? 0;
    if (waitMs > 0) throw new ReadSyncError('rate-limited', `too many requests; retry in ${waitMs} ms`, { status: 429, retryAfterMs: waitMs });
  });

  app.addHook('preHandler', async (req) => {
    if (!req.is404 && !isPublic(req)) requireUser(req);
  });
}

/** The request's user; throws (500, fail closed) if a protected handler is somehow reached without one. */
export function requireUser(req: FastifyRequest): string {
  if (typeof req.userId !== 'string' || req.userId === '') {
    throw new ReadSyncError('internal', 'a protected handler was reached without an authenticated user', { status: 500 });
  }
  return req.userId;
}

function isPublic(req: FastifyRequest): boolean {
  return req.routeOptions.config.public === true;
}

// The scheme is case-insensitive (RFC 9110); the token's own spelling rules are the authenticator's.
/** The user the client says it acts for (`x-readsync-user`, or `user` beside a query-string token), if it says. */
function claimedUser(req: FastifyRequest): string | undefined {
  const header = req.headers['x-readsync-user'];
  if (typeof header === 'string') return header;
  if (req.routeOptions.config.tokenInQuery === true) {
    const q = (req.query as Record<string, unknown> | undefined)?.user;
    if (typeof q === 'string') return q;
  }
  return undefined;
}

const BEARER = /^Bearer ([^\s]+)$/i;

function authenticate(auth: Authenticator, req: FastifyRequest): { userId: string; expiresAt: number | null } {
  const header = req.headers.authorization;
  let token: string | undefined;
  if (header !== undefined) {
    const m = BEARER.exec(header);
    if (!m) throw new AuthError('malformed Authorization header: expected "Bearer <token>"');
    token = m[1];
  } else if (req.routeOptions.config.tokenInQuery === true) {
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof q === 'string') token = q;
  }
  if (!token) throw new AuthError('missing bearer token');
  const result = auth.authenticate(token);
  const user = typeof result === 'string' ? { userId: result, expiresAt: undefined } : result;
  if (!user || typeof user.userId !== 'string' || user.userId === '') throw new AuthError('invalid or expired token');
  return { userId: user.userId, expiresAt: typeof user.expiresAt === 'number' ? user.expiresAt : null };
}
