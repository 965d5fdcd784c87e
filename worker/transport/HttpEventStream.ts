import type { ServerEvent } from '../../src/protocol';
import { parseServerEvent } from '../../src/protocol';
import type { EventStreamHandlers } from './Transport';

/** The subset of the WebSocket API the stream uses (browser WebSocket and the `ws` package both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
/** Close code of a socket whose token expired (docs/protocol.md): the client needs a new token. */
export const WS_CLOSE_TOKEN_EXPIRED = 4001;
/** Close code of the oldest stream of a user over the server's cap: do not reconnect on your own. */
export const WS_CLOSE_TOO_MANY_CONNECTIONS = 4002;

/** A WebSocket constructor. */
export type WebSocketCtor = new (url: string) => WebSocketLike;

/** Reconnect timing of an event stream. */
export interface ReconnectOptions {
  /** First retry delay (ms); doubles per failed attempt. Default 500. */
  baseMs?: number;
  /** Longest delay (ms). Default 30,000. */
  maxMs?: number;
  random?: () => number;
}

/**
 * One logical event stream over successive WebSockets: reconnects with
 * exponential backoff and jitter, and always resumes after the last
 * `receipts` cursor it handed out, so no receipt update is missed across a
 * drop. Frames that fail validation are dropped, never delivered.
 */
export class HttpEventStream {
  private ws: WebSocketLike | null = null;
  private closed = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Frames that failed validation. */
  rejected = 0;

  constructor(
    private readonly urlFor: (since: number | null) => string,
    private readonly WS: WebSocketCtor,
    private readonly handlers: EventStreamHandlers,
    private cursor: number | null,
    private readonly reconnect: ReconnectOptions = {},
  ) {}

  connect(): void {
    if (this.closed || this.ws) return;
    this.handlers.onStatus('connecting');
    let ws: WebSocketLike;
    try {
      ws = new this.WS(this.urlFor(this.cursor));
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) this.handlers.onStatus('open');
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onerror = () => {
      // a close event always follows
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (ev.code === WS_CLOSE_TOKEN_EXPIRED || ev.code === WS_CLOSE_TOO_MANY_CONNECTIONS) {
        // Reconnecting now would be refused (old token) or evict this user's next stream (too many):
        // stay down until reopened (new token; the user looking at this tab again).
        this.closed = true;
        this.handlers.onStatus(ev.code === WS_CLOSE_TOKEN_EXPIRED ? 'unauthorized' : 'evicted');
        return;
      }
      this.dropped();
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.close(1000, 'client closed');
    }
    this.handlers.onStatus('closed');
  }

  private dropped(): void {
    if (this.closed) return;
    this.handlers.onStatus('closed');
    const base = this.reconnect.baseMs ?? 500;
    const max = this.reconnect.maxMs ?? 30_000;
    const random = this.reconnect.random ?? Math.random;
    const delay = Math.min(max, base * 2 ** Math.min(this.attempts, 20)) * (0.5 + random() / 2);
    this.attempts++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private receive(data: unknown): void {
    let event: ServerEvent;
    try {
      const raw: unknown = JSON.parse(typeof data === 'string' ? data : String(data));
      event = parseServerEvent(raw);
    } catch {
      this.rejected++;
      return;
    }
    if (event.type === 'hello') {
      this.attempts = 0; // a working connection resets the backoff
      if (this.cursor === null && event.cursor !== undefined) this.cursor = event.cursor;
    } else if (event.type === 'receipts') {
      this.cursor = event.cursor;
    }
    this.handlers.onEvent(event);
  }
}
