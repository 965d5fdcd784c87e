import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { ValidationError } from '../../protocol';
import type { SyncCore } from '../core/SyncCore';
import { requireUser } from './installAuth';

/** A socket that cannot keep up is closed; its client resumes from its cursor. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;
/** Close code telling the client to reconnect with its cursor (server shutdown, slow consumer). */
export const WS_CLOSE_RECONNECT = 4000;

/**
 * GET /v1/events (WebSocket): the user's event stream. Authentication is the
 * `token` query parameter (browsers cannot set headers on a WebSocket) or the
 * Authorization header, checked before the upgrade. `since` resumes receipt
 * updates after a cursor. Returns a function closing every socket.
 */
export function registerEventsRoute(app: FastifyInstance, core: SyncCore): () => void {
  const sockets = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();

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
      sockets.add(socket);
      alive.set(socket, true);
      socket.on('pong', () => alive.set(socket, true));
      socket.on('message', () => {
        // The stream is one-way; client frames are ignored (ws enforces maxPayload).
      });
      const unsubscribe = core.subscribe(requireUser(req), since, (event) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          socket.close(WS_CLOSE_RECONNECT, 'slow consumer: reconnect with your cursor');
          return;
        }
        socket.send(JSON.stringify(event));
      });
      socket.on('close', () => {
        unsubscribe();
        sockets.delete(socket);
      });
    },
  );

  const heartbeat = setInterval(() => {
    for (const s of sockets) {
      if (!alive.get(s)) {
        s.terminate();
        continue;
      }
      alive.set(s, false);
      s.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return () => {
    clearInterval(heartbeat);
    for (const s of sockets) s.close(WS_CLOSE_RECONNECT, 'server shutting down');
  };
}
