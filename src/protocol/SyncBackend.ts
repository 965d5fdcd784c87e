import type { ServerConfig } from './entities';
import type {
  AckBatchRequest,
  AckBatchResponse,
  HistoryQueryRequest,
  HistoryQueryResponse,
  MemberPageRequest,
  MemberPageResponse,
  PullMessagesRequest,
  PullMessagesResponse,
  ReceiptQueryRequest,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  ServerEvent,
  SettingsRequest,
  SettingsResponse,
} from './wire';

/**
 * The server's rules as operations on behalf of an authenticated user. The
 * reference server's core implements it; the HTTP server maps routes onto it
 * and `MemoryTransport` calls it directly, so the rules exist once.
 *
 * Methods take already-validated requests. Whole-request failures throw a
 * `ReadSyncError` (e.g. `not-sender` for a member page); per-item failures are
 * reported in the result.
 */
export interface SyncBackend {
  /** Configuration announced to clients. */
  getConfig(): ServerConfig;
  sendMessages(userId: string, req: SendMessagesRequest): Promise<SendMessagesResponse>;
  pullMessages(userId: string, req: PullMessagesRequest): Promise<PullMessagesResponse>;
  /** Older messages of one conversation (current members only: `not-member`, `not-found`). */
  history(userId: string, req: HistoryQueryRequest): Promise<HistoryQueryResponse>;
  ackBatch(userId: string, req: AckBatchRequest): Promise<AckBatchResponse>;
  queryReceipts(userId: string, req: ReceiptQueryRequest): Promise<ReceiptQueryResponse>;
  memberPage(userId: string, req: MemberPageRequest): Promise<MemberPageResponse>;
  /** Changes (when given) and reads the user's settings (issue 10: `receipts` public or private). */
  settings(userId: string, req: SettingsRequest): Promise<SettingsResponse>;
  /**
   * Subscribes to the user's event stream. Receipt updates after `since` (a
   * `receipts` event cursor; null for "from now") are replayed first. The
   * listener gets the `hello` event first. Returns an unsubscribe function.
   */
  subscribe(userId: string, since: number | null, listener: (event: ServerEvent) => void): () => void;
}
