import WebSocket from 'ws';
import { createSyncServer } from '../../src/server/createSyncServer';
import type { SyncServerOptions } from '../../src/server/createSyncServer';
import type { TokenAuth } from '../../src/server/auth/TokenAuth';
import { HttpTransport } from '../../worker/transport/HttpTransport';
import type { HttpTransportOptions } from '../../worker/transport/HttpTransport';
import type { WebSocketCtor } from '../../worker/transport/HttpEventStream';

/** The `ws` package as the transport's WebSocket (Node 20 has no global one). */
export const NodeWebSocket = WebSocket as unknown as WebSocketCtor;

/** A real server on a loopback port-0 socket, with helpers to act as any user. */
export async function startServer(options: SyncServerOptions = {}) {
  const server = await createSyncServer({ ...options, config: { secret: 'test-secret-0123456789', ...options.config } });
  const { url } = await server.listen(0, '127.0.0.1');
  const auth = server.auth as TokenAuth;
  const token = (userId: string) => auth.issue(userId);
  return {
    server,
    core: server.core,
    url,
    token,
    transport(userId: string, extra: Partial<HttpTransportOptions> = {}) {
      return new HttpTransport({ serverUrl: url, token: token(userId), WebSocket: NodeWebSocket, reconnect: { baseMs: 20, maxMs: 200 }, ...extra });
    },
    /** A raw JSON request, as an attacker or a broken client would send it. */
    async post(path: string, body: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, json: json as Record<string, unknown>, headers: res.headers };
    },
    close: () => server.close(),
  };
}
