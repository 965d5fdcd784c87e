import type * as v from 'valibot';
import type {
  AckBatchRequest,
  AckBatchResponse,
  HistoryQueryRequest,
  HistoryQueryResponse,
  MemberPageRequest,
  MemberPageResponse,
  SettingsRequest,
  SettingsResponse,
  PullMessagesRequest,
  PullMessagesResponse,
  ReceiptQueryRequest,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  ServerConfig,
} from '../../src/protocol';
import {
  AckBatchResponseSchema,
  fastAckBatchResponse,
  HistoryQueryResponseSchema,
  MemberPageResponseSchema,
  SettingsResponseSchema,
  PROTOCOL_VERSION,
  ProtocolError,
  PullMessagesResponseSchema,
  ReceiptQueryResponseSchema,
  SendMessagesResponseSchema,
  ServerConfigSchema,
  TransientError,
  parsePayload,
} from '../../src/protocol';
import { HttpEventStream } from './HttpEventStream';
import type { ReconnectOptions, WebSocketCtor } from './HttpEventStream';
import { httpError } from './httpError';
import type { EventStreamHandlers, Transport } from './Transport';

/** Options of `HttpTransport`. */
export interface HttpTransportOptions {
  /** Base URL of the reference server, e.g. `https://chat.example.com` (routes are under /v1). */
  serverUrl: string;
  /** Bearer token, or a function returning the current one (for refresh). `setToken` replaces it. */
  token: string | (() => string);
  /**
   * The user this client acts for. Sent with every request (and the event
   * stream) so the server refuses a token of anyone else with `wrong-user`
   * before it applies anything: a leftover queue is never sent as another user.
   */
  userId?: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to the global WebSocket (pass `ws` in Node 20). */
  WebSocket?: WebSocketCtor;
  /** Per-request timeout in ms (the whole exchange, body included). Default 15,000. */
  timeoutMs?: number;
  /** Event-stream reconnect timing. */
  reconnect?: ReconnectOptions;
}

/**
 * The real `Transport`: protocol v1 over fetch (requests) and a WebSocket
 * (events) against the reference server. Failures map to the outbox's retry
 * classes: no answer (offline, DNS, reset, timeout) is `network`; 5xx and 408
 * are `server`; 429 is `rate-limited` with `retryAfterMs` from Retry-After;
 * other 4xx keep the server's code and are permanent. Every response body is
 * validated before it is returned.
 */
export class HttpTransport implements Transport {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private tokenOverride: string | null = null;
  /** Bumped by setToken: a refusal of a request sent with an older token says nothing about the new one. */
  private tokenGeneration = 0;

  constructor(private readonly options: HttpTransportOptions) {
    this.base = options.serverUrl.replace(/\/+$/, '');
    const f = options.fetch ?? globalThis.fetch;
    if (!f) throw new Error('HttpTransport: no fetch available');
    this.fetchFn = f.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  getConfig(): Promise<ServerConfig> {
    return this.request('GET', '/v1/config', undefined, ServerConfigSchema);
  }

  sendMessages(req: SendMessagesRequest): Promise<SendMessagesResponse> {
    return this.request('POST', '/v1/messages', req, SendMessagesResponseSchema);
  }

  pullMessages(req: PullMessagesRequest): Promise<PullMessagesResponse> {
    return this.request('POST', '/v1/pull', req, PullMessagesResponseSchema);
  }

  history(req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
    return this.request('POST', '/v1/history', req, HistoryQueryResponseSchema);
  }

  ackBatch(req: AckBatchRequest): Promise<AckBatchResponse> {
    return this.request('POST', '/v1/acks', req, AckBatchResponseSchema, fastAckBatchResponse);
  }

  queryReceipts(req: ReceiptQueryRequest): Promise<ReceiptQueryResponse> {
    return this.request('POST', '/v1/receipts', req, ReceiptQueryResponseSchema);
  }

  memberPage(req: MemberPageRequest): Promise<MemberPageResponse> {
    return this.request('POST', '/v1/members', req, MemberPageResponseSchema);
  }

  settings(req: SettingsRequest): Promise<SettingsResponse> {
    return this.request('POST', '/v1/settings', req, SettingsResponseSchema);
  }

  openEvents(since: number | null, handlers: EventStreamHandlers): () => void {
    const WS = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!WS) throw new Error('HttpTransport: no WebSocket available');
    const wsBase = this.base.replace(/^http/, 'ws');
    const urlFor = (cursor: number | null) => {
      const q = new URLSearchParams({ token: this.token() });
      if (this.options.userId !== undefined) q.set('user', this.options.userId);
      if (cursor !== null) q.set('since', String(cursor));
      return `${wsBase}/v1/events?${q.toString()}`;
    };
    const stream = new HttpEventStream(urlFor, WS, handlers, since, this.options.reconnect);
    stream.connect();
    return () => stream.close();
  }

  setToken(token: string): void {
    this.tokenOverride = token;
    this.tokenGeneration++;
  }

  private token(): string {
    if (this.tokenOverride !== null) return this.tokenOverride;
    const t = this.options.token;
    return typeof t === 'function' ? t() : t;
  }

  /** `fast`: hand-written checks with the schema's rules (src/protocol/fastPaths); null sends the reply through `schema`. */
  private async request<S extends v.GenericSchema>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: S,
    fast?: (json: unknown) => v.InferOutput<S> | null,
  ): Promise<v.InferOutput<S>> {
    const generation = this.tokenGeneration;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${this.token()}`, 'x-readsync-protocol': String(PROTOCOL_VERSION) };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (this.options.userId !== undefined) headers['x-readsync-user'] = this.options.userId;
      const res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const why = timedOut ? `timed out after ${this.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
      throw new TransientError('network', `${method} ${path}: ${why}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (status === 401 && generation !== this.tokenGeneration) {
      // Sent with the token that was just replaced: retry (with the new one) instead of reporting it refused.
      throw new TransientError('server', `${method} ${path}: refused the previous token; retrying with the new one`, { status: 503 });
    }
    if (status < 200 || status >= 300) throw httpError(status, text, retryAfter);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProtocolError(`${method} ${path}: response is not JSON`);
    }
    return fast?.(json) ?? parsePayload(schema, json, `${method} ${path} response`);
  }
}
