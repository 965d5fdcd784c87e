import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { ServerEvent } from '../../protocol';
import { ValidationError } from '../../protocol';
import type { SyncCore } from '../core/SyncCore';
import { requireUser } from './installAuth';
import { UserSockets } from './UserSockets';
import type { UserSocket } from './UserSockets';

const HEARTBEAT_MS = 30_000;
/** Default of `maxSocketsPerUser`: a user's tabs and devices, with room to spare. */
export const DEFAULT_MAX_SOCKETS_PER_USER = 16;
/**
 * Default of `maxBufferedBytesPerSocket`: several full `receipts` events
 * (500 receipts ≈ 70 KB) of headroom, so a reader that merely lags keeps its
 * socket, while 1,000 stalled readers hold at most ~256 MB in this process.
 */
export const DEFAULT_MAX_BUFFERED_BYTES_PER_SOCKET = 256 * 1024;
/** Close code: reconnect and resume with your cursor (server shutting down, or the reader fell too far behind). */
export const WS_CLOSE_RECONNECT = 4000;
/**
 * Close code: this user opened more than `maxSocketsPerUser` streams and this
 * was the oldest. Clients must not reconnect on their own (that would close
 * the next oldest, round and round); see docs/protocol.md.
 */
export const WS_CLOSE_TOO_MANY_CONNECTIONS = 4002;
/** Close code: the token this socket was opened with expired. Clients get a new token, then reconnect (no retry loop). */
export const WS_CLOSE_TOKEN_EXPIRED = 4001;
/** setTimeout's longest delay (2^31 - 1 ms, ~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

/** Limits of the event stream (part of `SyncServerConfig`). */
export interface EventsRouteOptions {
  /** Open event streams per user; a new one past this closes the user's oldest with 4002. Default 16. */
  maxSocketsPerUser?: number;
  /**
   * Bytes this process may hold unsent for one socket (what the kernel's
   * socket buffer did not take). An event that would go past it closes the
   * socket with 4000 instead; the client resumes from its cursor. An event
   * larger than the cap still goes out on an otherwise empty buffer. Default 256 KiB.
   */
  maxBufferedBytesPerSocket?: number;
}

/**
 * GET /v1/events (WebSocket): the user's event stream. Authentication is the
 * `token` query parameter (browsers cannot set headers on a WebSocket) or the
 * Authorization header, checked before the upgrade. `since` resumes receipt
 * updates after a cursor. What one user can hold is bounded: sockets per user
 * and bytes buffered per socket. Returns a function closing every socket.
 */
export function registerEventsRoute(app: FastifyInstance, core: SyncCore, options: EventsRouteOptions = {}): () => void {
  const maxBuffered = options.maxBufferedBytesPerSocket ?? DEFAULT_MAX_BUFFERED_BYTES_PER_SOCKET;
  const sockets = new UserSockets<WebSocket>(options.maxSocketsPerUser ?? DEFAULT_MAX_SOCKETS_PER_USER);
  /** Closes a socket and stops its events at once (its close handshake may take a while). */
  const unsubscribers = new WeakMap<UserSocket<WebSocket>, () => void>();
  const drop = (entry: UserSocket<WebSocket>, code: number, reason: string) => {
    sockets.delete(entry);
    unsubscribers.get(entry)?.();
    entry.socket.close(code, reason);
  };

  // A user's sockets get the same event object in a row, in one synchronous fan-out: serialize it
  // once for all of them. The memo lasts until the next microtask, so it never outlives the fan-out.
  let lastEvent: ServerEvent | undefined;
  let lastFrame = '';
  let lastBytes = 0;
  const frame = (event: ServerEvent) => {
    if (event !== lastEvent) {
      if (lastEvent === undefined) {
        queueMicrotask(() => {
          lastEvent = undefined;
          lastFrame = '';
        });
      }
      lastEvent = event;
      lastFrame = JSON.stringify(event);
      lastBytes = Buffer.byteLength(lastFrame);
    }
    return lastFrame;
  };

  app.get(
    '/v1/events',
    {
      websocket: true,
      config: { tokenInQuery: true },
      preValidation: async (req) => {
        const since = (req.query as Record<string, unknown>).since;
        if (since !== undefined && (typeof since !== 'string' || !/^\d{1,15}$/.test(since))) {
          throw new ValidationError('since: a non-negative integer cursor');
        }
      },
    },
    (socket, req) => {
      const raw = (req.query as Record<string, string | undefined>).since;
      const since = raw === undefined ? null : Number(raw);
      const userId = requireUser(req);
      const { entry, evicted } = sockets.add(userId, socket);
      for (const old of evicted) drop(old, WS_CLOSE_TOO_MANY_CONNECTIONS, 'too many connections: a newer one of this user took this one’s place');
      socket.on('pong', () => (entry.alive = true));
      socket.on('message', () => {
        // The stream is one-way; client frames are ignored (ws enforces maxPayload).
      });
      const unsubscribe = core.subscribe(
        userId,
        since,
        (event) => {
          if (socket.readyState !== socket.OPEN) return;
          const data = frame(event);
          const buffered = socket.bufferedAmount;
          if (buffered > 0 && buffered + lastBytes > maxBuffered) {
            drop(entry, WS_CLOSE_RECONNECT, 'slow consumer: reconnect with your cursor');
            return;
          }
          socket.send(data);
        },
        // This process may have missed changes (a shared store's notifications were interrupted):
        // the client catches up by reconnecting (pull, then receipts from its cursor).
        { reconnect: () => drop(entry, WS_CLOSE_RECONNECT, 'catching up: reconnect with your cursor') },
      );
      unsubscribers.set(entry, unsubscribe);
      // A session never outlives its token: close it when the token expires.
      let expiry: ReturnType<typeof setTimeout> | undefined;
      const expiresAt = req.tokenExpiresAt;
      const armExpiry = () => {
        if (expiresAt === null) return;
        const left = expiresAt - Date.now();
        if (left <= 0) return drop(entry, WS_CLOSE_TOKEN_EXPIRED, 'token expired: reconnect with a new token');
        expiry = setTimeout(armExpiry, Math.min(left, MAX_TIMER_MS));
        expiry.unref();
      };
      armExpiry();
      socket.on('close', () => {
        clearTimeout(expiry);
        unsubscribe();
        sockets.delete(entry);
      });
    },
  );

  const heartbeat = setInterval(() => {
    for (const entry of sockets.all()) {
      if (!entry.alive) {
        sockets.delete(entry);
        unsubscribers.get(entry)?.();
        entry.socket.terminate();
        continue;
      }
      entry.alive = false;
      entry.socket.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return () => {
    clearInterval(heartbeat);
    for (const entry of sockets.all()) drop(entry, WS_CLOSE_RECONNECT, 'server shutting down');
  };
}
