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
  ServerEvent,
} from '../../src/protocol';

/**
 * State of a transport's event stream. 'unauthorized': the server ended it
 * because the token expired or was refused; it stays down until reopened
 * with a new token (no reconnect loop). 'evicted': the server closed it
 * because this user has too many streams open (this was the oldest); it
 * stays down until reopened on a user-driven signal (the page becomes
 * visible, the device comes online), so tabs do not take turns evicting
 * each other.
 */
export type EventStreamStatus = 'connecting' | 'open' | 'closed' | 'unauthorized' | 'evicted';

/** Callbacks of an open event stream. */
export interface EventStreamHandlers {
  /** A validated server event. */
  onEvent(event: ServerEvent): void;
  onStatus(status: EventStreamStatus): void;
}

/**
 * How the worker talks to a backend, as the authenticated user. Every
 * response is validated before it is returned. Failures reject with a
 * `ReadSyncError` whose `retryable` tells the outbox what to do: `network`,
 * `server` (5xx, 408) and `rate-limited` (with `retryAfterMs`) retry; any other
 * code is permanent for that request.
 *
 * Implementations: `HttpTransport` (fetch + WebSocket, the reference server)
 * and `MemoryTransport` (in-process, with fault injection, for tests). Both
 * pass test/contracts/transportContract.ts.
 */
export interface Transport {
  getConfig(): Promise<ServerConfig>;
  sendMessages(req: SendMessagesRequest): Promise<SendMessagesResponse>;
  pullMessages(req: PullMessagesRequest): Promise<PullMessagesResponse>;
  /** Older messages of one conversation (`POST /v1/history`). */
  history(req: HistoryQueryRequest): Promise<HistoryQueryResponse>;
  ackBatch(req: AckBatchRequest): Promise<AckBatchResponse>;
  queryReceipts(req: ReceiptQueryRequest): Promise<ReceiptQueryResponse>;
  memberPage(req: MemberPageRequest): Promise<MemberPageResponse>;
  /** Changes (when given) and reads my settings (`POST /v1/settings`, servers announcing `read-positions`). */
  settings(req: SettingsRequest): Promise<SettingsResponse>;
  /**
   * Opens the event stream and keeps it open (reconnecting with backoff),
   * resuming receipt updates after the last `receipts` cursor seen, starting
   * from `since`. Returns a function that closes it.
   */
  openEvents(since: number | null, handlers: EventStreamHandlers): () => void;
  /** Uses `token` for every later request and event stream (auth refresh). Optional: transports without tokens ignore it. */
  setToken?(token: string): void;
}
