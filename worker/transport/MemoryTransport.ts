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
  ReadSyncError,
  ReceiptQueryRequest,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  ServerConfig,
  SyncBackend,
} from '../../src/protocol';
import {
  AckBatchRequestSchema,
  AckBatchResponseSchema,
  HistoryQueryRequestSchema,
  HistoryQueryResponseSchema,
  MemberPageRequestSchema,
  MemberPageResponseSchema,
  SettingsRequestSchema,
  SettingsResponseSchema,
  PullMessagesRequestSchema,
  PullMessagesResponseSchema,
  ReceiptQueryRequestSchema,
  ReceiptQueryResponseSchema,
  SendMessagesRequestSchema,
  SendMessagesResponseSchema,
  ServerConfigSchema,
  TransientError,
  parseArgument,
  parsePayload,
} from '../../src/protocol';
import { MemoryEventStream } from './MemoryEventStream';
import type { EventStreamHandlers, Transport } from './Transport';
import { wireError } from './wireError';

/** The request kinds of a `Transport`, for fault injection and the request log. */
export type RequestKind = 'getConfig' | 'sendMessages' | 'pullMessages' | 'history' | 'ackBatch' | 'queryReceipts' | 'memberPage' | 'settings';

/** One request seen by a `MemoryTransport`. */
export interface RequestLogEntry {
  kind: RequestKind;
  request: unknown;
  /** ok: answered; error: the backend or an injected fault refused it; offline: never sent; dropped: applied, reply lost. */
  outcome: 'pending' | 'ok' | 'error' | 'offline' | 'dropped';
}

/** Options of `MemoryTransport`. */
export interface MemoryTransportOptions {
  /**
   * Delay of each hop in ms, via setTimeout (so fake timers control it).
   * Default 0 = promise microtasks only: replies still come asynchronously,
   * and tests need no timer advancing.
   */
  latencyMs?: number;
}

type Fault = { type: 'fail'; error: () => ReadSyncError } | { type: 'drop' };

/**
 * An in-process `Transport` over a `SyncBackend` (normally the reference
 * server's `SyncCore`), behaving like a network: asynchronous, requests and
 * replies deep-cloned, requests validated as the server would and replies
 * validated as from a peer. Fault injection drives the outbox tests: offline
 * periods, failed requests of a kind, and replies lost after the backend
 * applied the request.
 */
export class MemoryTransport implements Transport {
  /** Every request, in order. */
  readonly log: RequestLogEntry[] = [];
  private faults = new Map<RequestKind, Fault[]>();
  private offline = false;
  private streams = new Set<MemoryEventStream>();

  constructor(
    private readonly backend: SyncBackend,
    private readonly userId: string,
    private readonly options: MemoryTransportOptions = {},
  ) {}

  /**
   * Simulates losing (true) or regaining (false) the network: new requests fail
   * with `network`; a request already on its way is applied but its reply is
   * lost (also `network`), as on a real connection; event streams close, and
   * reopen from their last cursor when back online.
   */
  setOffline(offline: boolean): void {
    if (this.offline === offline) return;
    this.offline = offline;
    for (const s of this.streams) {
      if (offline) s.disconnect();
      else s.connect();
    }
  }

  isOffline(): boolean {
    return this.offline;
  }

  /** The next `times` requests of `kind` fail with `error` (e.g. `server` 503, `rate-limited` with retryAfterMs) without reaching the backend. */
  failNext(kind: RequestKind, error: ReadSyncError | (() => ReadSyncError), times = 1): void {
    const make = typeof error === 'function' ? error : () => error;
    for (let i = 0; i < times; i++) this.queueFault(kind, { type: 'fail', error: make });
  }

  /** The next `times` requests of `kind` are applied by the backend, but the reply is lost: they reject with `network`. */
  dropReplyNext(kind: RequestKind, times = 1): void {
    for (let i = 0; i < times; i++) this.queueFault(kind, { type: 'drop' });
  }

  /** Drops every open event stream and reconnects it at once (resuming from its last cursor), like a flaky socket. */
  reconnectEvents(): void {
    for (const s of this.streams) {
      s.disconnect();
      if (!this.offline) s.connect();
    }
  }

  /** Requests made so far, of one kind or of all kinds. */
  count(kind?: RequestKind): number {
    return kind ? this.log.filter((e) => e.kind === kind).length : this.log.length;
  }

  /** Number of event streams open (not closed by their owner). */
  openStreamCount(): number {
    return this.streams.size;
  }

  getConfig(): Promise<ServerConfig> {
    return this.call('getConfig', {}, null, ServerConfigSchema, async () => this.backend.getConfig());
  }

  sendMessages(req: SendMessagesRequest): Promise<SendMessagesResponse> {
    return this.call('sendMessages', req, SendMessagesRequestSchema, SendMessagesResponseSchema, (r) => this.backend.sendMessages(this.userId, r));
  }

  pullMessages(req: PullMessagesRequest): Promise<PullMessagesResponse> {
    return this.call('pullMessages', req, PullMessagesRequestSchema, PullMessagesResponseSchema, (r) => this.backend.pullMessages(this.userId, r));
  }

  history(req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
    return this.call('history', req, HistoryQueryRequestSchema, HistoryQueryResponseSchema, (r) => this.backend.history(this.userId, r));
  }

  ackBatch(req: AckBatchRequest): Promise<AckBatchResponse> {
    return this.call('ackBatch', req, AckBatchRequestSchema, AckBatchResponseSchema, (r) => this.backend.ackBatch(this.userId, r));
  }

  queryReceipts(req: ReceiptQueryRequest): Promise<ReceiptQueryResponse> {
    return this.call('queryReceipts', req, ReceiptQueryRequestSchema, ReceiptQueryResponseSchema, (r) => this.backend.queryReceipts(this.userId, r));
  }

  memberPage(req: MemberPageRequest): Promise<MemberPageResponse> {
    return this.call('memberPage', req, MemberPageRequestSchema, MemberPageResponseSchema, (r) => this.backend.memberPage(this.userId, r));
  }

  settings(req: SettingsRequest): Promise<SettingsResponse> {
    return this.call('settings', req, SettingsRequestSchema, SettingsResponseSchema, (r) => this.backend.settings(this.userId, r));
  }

  openEvents(since: number | null, handlers: EventStreamHandlers): () => void {
    const stream = new MemoryEventStream(this.backend, this.userId, since, handlers, () => this.hop());
    this.streams.add(stream);
    if (!this.offline) stream.connect();
    else handlers.onStatus('closed');
    return () => {
      if (!this.streams.delete(stream)) return;
      stream.disconnect();
    };
  }

  private queueFault(kind: RequestKind, fault: Fault): void {
    let list = this.faults.get(kind);
    if (!list) this.faults.set(kind, (list = []));
    list.push(fault);
  }

  private hop(): Promise<void> {
    const ms = this.options.latencyMs ?? 0;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  private async call<Req, S extends v.GenericSchema>(
    kind: RequestKind,
    req: Req,
    requestSchema: v.GenericSchema | null,
    responseSchema: S,
    apply: (req: Req) => Promise<unknown>,
  ): Promise<v.InferOutput<S>> {
    const entry: RequestLogEntry = { kind, request: structuredClone(req), outcome: 'pending' };
    this.log.push(entry);
    const sent = structuredClone(req); // the caller may mutate its object after the call
    await this.hop();
    if (this.offline) {
      entry.outcome = 'offline';
      throw new TransientError('network', `${kind}: offline (simulated)`);
    }
    const fault = this.faults.get(kind)?.shift();
    if (fault?.type === 'fail') {
      entry.outcome = 'error';
      throw fault.error();
    }
    let reply: unknown;
    try {
      // The server validates every body; a malformed one is a 400 `invalid-argument`.
      const parsed = requestSchema ? (parseArgument(requestSchema, sent, kind) as Req) : sent;
      reply = structuredClone(await apply(parsed));
    } catch (err) {
      entry.outcome = 'error';
      throw wireError(err);
    }
    await this.hop();
    if (fault?.type === 'drop' || this.offline) {
      entry.outcome = 'dropped';
      throw new TransientError('network', `${kind}: reply lost (simulated)`);
    }
    entry.outcome = 'ok';
    return parsePayload(responseSchema, reply, `${kind} response`);
  }
}
