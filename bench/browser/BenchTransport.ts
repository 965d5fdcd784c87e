import { DEFAULT_LIMITS, DEFAULT_RECEIPT_GROUP_TYPES, PROTOCOL_VERSION } from '../../src/protocol';
import type {
  AckBatchRequest,
  AckBatchResponse,
  HistoryQueryRequest,
  HistoryQueryResponse,
  MemberPageResponse,
  SettingsResponse,
  PullMessagesResponse,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  ServerConfig,
  ServerEvent,
} from '../../src/protocol';
import type { EventStreamHandlers, Transport } from '../../worker/transport/Transport';

/**
 * A silent in-worker backend for the workloads that must not touch the
 * network (markRead, cold start, the receipt burst): every request succeeds
 * at once with nothing new, and the bench can inject server events.
 */
export class BenchTransport implements Transport {
  private handlers: EventStreamHandlers | null = null;

  async getConfig(): Promise<ServerConfig> {
    return { protocolVersion: PROTOCOL_VERSION, receiptGroupTypes: [...DEFAULT_RECEIPT_GROUP_TYPES], limits: { ...DEFAULT_LIMITS } };
  }
  async sendMessages(req: SendMessagesRequest): Promise<SendMessagesResponse> {
    return { type: 'send-messages-result', results: req.messages.map((m) => ({ id: m.id, status: 'rejected', reason: 'not-member' })) };
  }
  async pullMessages(): Promise<PullMessagesResponse> {
    return { type: 'pull-messages-result', conversations: [], messages: [], hasMore: false };
  }
  async ackBatch(req: AckBatchRequest): Promise<AckBatchResponse> {
    return { type: 'ack-batch-result', batchId: req.batchId, results: req.acks.map((a) => ({ m: a.m, s: 'accepted' })) };
  }
  async history(req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
    return { type: 'history-result', convId: req.convId, messages: [], hasOlder: false };
  }
  async queryReceipts(): Promise<ReceiptQueryResponse> {
    return { type: 'receipt-query-result', receipts: [], rejected: [] };
  }
  async memberPage(): Promise<MemberPageResponse> {
    return { type: 'member-page-result', page: { members: [], nextCursor: null, isFinished: true } };
  }
  async settings(): Promise<SettingsResponse> {
    return { type: 'settings-result', settings: { receipts: 'public' } };
  }
  openEvents(_since: number | null, handlers: EventStreamHandlers): () => void {
    this.handlers = handlers;
    queueMicrotask(() => handlers.onStatus('open'));
    return () => {
      this.handlers = null;
      handlers.onStatus('closed');
    };
  }

  /** Delivers a server event as if it came over the event stream. */
  emit(event: ServerEvent): void {
    if (!this.handlers) throw new Error('BenchTransport: no event stream open');
    this.handlers.onEvent(event);
  }
}
