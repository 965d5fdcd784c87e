import websocket from '@fastify/websocket';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { PROTOCOL_VERSION } from '../protocol';
import type { Authenticator } from './auth/TokenAuth';
import { TokenAuth } from './auth/TokenAuth';
import { SyncCore } from './core/SyncCore';
import type { SyncCoreOptions } from './core/SyncCore';
import { errorReply } from './http/errorReply';
import { installAuth } from './http/installAuth';
import { RateLimiter } from './http/RateLimiter';
import type { RateLimitOptions } from './http/RateLimiter';
import { registerApiRoutes } from './http/registerApiRoutes';
import { registerDevRoutes } from './http/registerDevRoutes';
import { registerEventsRoute } from './http/registerEventsRoute';
import { serveStatic } from './http/serveStatic';
import { TurnScheduler } from './http/TurnScheduler';
import { SqliteStore } from './store/SqliteStore';
import type { Store } from './store/Store';

/** Server configuration: the core's rules and limits plus HTTP concerns. */
export interface SyncServerConfig extends SyncCoreOptions {
  /**
   * Dev mode: `POST /v1/dev/token` issues a token for any user id, `/v1/dev/*`
   * manages conversations, and CORS is open. For demos and tests only.
   */
  devMode?: boolean;
  /** CORS allowed origin ('*' or one origin); default '*' in dev mode, off otherwise. */
  corsOrigin?: string | false;
  /** Serve a built SPA/PWA from this directory on the same origin. */
  staticDir?: string;
  /** Fastify logger (default off). */
  logger?: boolean;
  /** Per-user request rate limit (429 with Retry-After above it). Default: none. */
  rateLimit?: RateLimitOptions;
  /** Open event streams per user; one more closes the user's oldest with 4002. Default 16. */
  maxSocketsPerUser?: number;
  /** Bytes held unsent for one event stream before it is closed with 4000 (client resumes from its cursor). Default 256 KiB. */
  maxBufferedBytesPerSocket?: number;
}

/** Options of `createSyncServer`. */
export interface SyncServerOptions {
  /** Storage; default an in-memory SQLite database. Closed by `close()` only if the server created it. */
  store?: Store;
  /** Bearer-token authentication; default `TokenAuth` with `config.secret`. */
  auth?: Authenticator;
  config?: SyncServerConfig;
}

/** A running (or ready to listen) reference sync server. */
export interface SyncServer {
  /** The Fastify instance (e.g. `app.inject` in tests, or to add routes). */
  app: FastifyInstance;
  /** The rules core: `core.admin` manages conversations. */
  core: SyncCore;
  auth: Authenticator;
  /** Starts listening; resolves with the base URL (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Closes sockets and the HTTP server (and the store if the server created it). */
  close(): Promise<void>;
}

/**
 * The reference sync server: protocol v1 routes (see docs/protocol.md) over
 * the rules core, with bearer-token auth on every request, a body limit of
 * `limits.maxBodyBytes`, schema validation and JSON errors.
 */
export async function createSyncServer(options: SyncServerOptions = {}): Promise<SyncServer> {
  const config = options.config ?? {};
  const ownStore = !options.store;
  const store: Store = options.store ?? new SqliteStore();
  const core = new SyncCore(store, { receiptFlushMs: 10, ...config });
  await core.start();
  const auth = options.auth ?? new TokenAuth(config.secret);
  const corsOrigin = config.corsOrigin ?? (config.devMode ? '*' : false);
  const limiter = config.rateLimit ? new RateLimiter(config.rateLimit) : null;

  const app = Fastify({ logger: config.logger ?? false, bodyLimit: core.config.limits.maxBodyBytes });
  await app.register(websocket, { options: { maxPayload: 4096 } });
  // The protocol speaks JSON only: a text/plain body (what forms and no-preflight fetches send) gets 415, not a parse attempt.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = errorReply(err);
    if (body.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(body.retryAfterMs / 1000));
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ name: 'ReadSyncError', code: 'not-found', message: 'no such route', status: 404 }));

  if (corsOrigin) {
    app.addHook('onRequest', async (req, reply) => {
      reply.header('access-control-allow-origin', corsOrigin);
      reply.header('access-control-allow-headers', 'authorization, content-type, x-readsync-protocol, x-readsync-user');
      reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
      reply.header('access-control-expose-headers', 'retry-after');
      if (req.method === 'OPTIONS') return reply.code(204).send();
    });
  }
  installAuth(app, auth, limiter);

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true, protocolVersion: PROTOCOL_VERSION }));
  // A synchronous store runs requests one at a time in short slices, shared by every server of this
  // process; a networked one keeps as many in flight as it serves at once.
  const concurrency = store.concurrency ?? 1;
  registerApiRoutes(app, core, concurrency > 1 ? new TurnScheduler(5, undefined, concurrency) : TurnScheduler.shared);
  const closeSockets = registerEventsRoute(app, core, config);
  if (config.devMode) registerDevRoutes(app, core, auth);
  if (config.staticDir) serveStatic(app, config.staticDir);

  let closed = false;
  return {
    app,
    core,
    auth,
    async listen(port = 0, host = '127.0.0.1') {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
      return { url: `http://${shownHost}:${actual}`, port: actual };
    },
    async close() {
      if (closed) return;
      closed = true;
      closeSockets();
      await app.close();
      await core.close();
      if (ownStore) await store.close();
    },
  };
}
