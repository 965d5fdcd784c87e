import type {
  EnvironmentSignal,
  LocalMessage,
  MessageRef,
  Query,
  SendEachResult,
  SendMessageInput,
  SubscriptionUpdate,
  UpdateBatch,
  WorkerApi,
  WorkerInitOptions,
} from '../../src/bridge';
import { ReceiptRuleError, ValidationError, toErrorPayload, type ErrorPayload, type MessageReceipt, type ReadSyncError } from '../../src/protocol';

/**
 * A small stand-in for the worker side of the subscription channel: it keeps
 * a registry of subscriptions, answers with the current value and coalesces
 * updates into at most one sink call per tick, like the real worker must.
 */
export class FakeWorkerApi implements WorkerApi {
  readonly subs = new Map<number, Query>();
  readonly subscribeCalls: number[][] = [];
  readonly unsubscribeCalls: number[][] = [];
  readonly sinkCalls: SubscriptionUpdate[][] = [];
  readonly environment: EnvironmentSignal[] = [];
  readonly values = new Map<string, unknown>();
  /** Posts plain arrays: the form an older worker sends, which the client must keep accepting. */
  private sink: ((batch: UpdateBatch | SubscriptionUpdate[]) => void) | null = null;
  private pending = new Map<number, SubscriptionUpdate>();
  private scheduled = false;

  readonly calls: string[] = [];
  /** When set, init rejects with it (a bad token, a database of another user…). */
  initError: Error | null = null;

  async init(options: WorkerInitOptions): Promise<void> {
    this.calls.push(`init:${options.userId}@${options.serverUrl}`);
    if (this.initError) throw this.initError;
  }

  async attach(sink: (batch: UpdateBatch) => void): Promise<void> {
    this.calls.push('attach');
    this.sink = sink as (batch: UpdateBatch | SubscriptionUpdate[]) => void;
  }

  async subscribe(subs: { id: number; query: Query }[]): Promise<void> {
    this.subscribeCalls.push(subs.map((s) => s.id));
    for (const { id, query } of subs) {
      this.subs.set(id, query);
      if (query.kind !== 'receipts') this.post({ id, value: this.values.get(keyOf(query)) ?? null });
    }
  }

  async unsubscribe(ids: number[]): Promise<void> {
    this.unsubscribeCalls.push(ids);
    for (const id of ids) {
      this.subs.delete(id);
      this.pending.delete(id);
    }
  }

  /** Test control: a new value for every subscription of this query. */
  set(query: Query, value: unknown): void {
    this.values.set(keyOf(query), value);
    for (const [id, q] of this.subs) if (keyOf(q) === keyOf(query)) this.post({ id, value });
  }

  /** Test control: the worker fails every subscription of this query. */
  fail(query: Query, error: ErrorPayload): void {
    for (const [id, q] of this.subs) {
      if (keyOf(q) !== keyOf(query)) continue;
      this.subs.delete(id);
      this.post({ id, error });
    }
  }

  /** Test control: a receipt batch arrives. */
  receipts(batch: MessageReceipt[]): void {
    for (const [id, q] of this.subs) if (q.kind === 'receipts') this.post({ id, value: batch });
  }

  async markRead(refs: MessageRef[]) {
    return { queued: refs.length, alreadyRead: 0, skipped: [] };
  }
  async getReadMembers(): Promise<never> {
    throw new ReceiptRuleError('not-sender', 'Only the sender may list the readers of a message');
  }
  async setEnvironment(signal: EnvironmentSignal): Promise<void> {
    this.environment.push(signal);
  }
  async stats() {
    return { subscriptions: this.subs.size, queries: new Set([...this.subs.values()].map(keyOf)).size };
  }
  /** Every send call as it reached the worker: method and the texts of its inputs, in arrival order. */
  readonly sendCalls: { method: 'sendMessage' | 'sendMessages' | 'sendMessageEach'; texts: unknown[] }[] = [];
  /** Texts in the order they were stored (the send order). */
  readonly stored: string[] = [];
  /** When set, every send call rejects with it whole (a storage failure, say). */
  sendError: ReadSyncError | null = null;

  async sendMessage(input: SendMessageInput): Promise<LocalMessage> {
    this.sendCalls.push({ method: 'sendMessage', texts: [input?.text] });
    if (this.sendError) throw this.sendError;
    return this.storeOne(input);
  }
  async sendMessages(inputs: SendMessageInput[]): Promise<LocalMessage[]> {
    this.sendCalls.push({ method: 'sendMessages', texts: inputs.map((i) => i?.text) });
    if (this.sendError) throw this.sendError;
    inputs.forEach((i) => this.check(i));
    return inputs.map((i) => this.storeOne(i));
  }
  async sendMessageEach(inputs: SendMessageInput[]): Promise<SendEachResult[]> {
    this.sendCalls.push({ method: 'sendMessageEach', texts: inputs.map((i) => i?.text) });
    if (this.sendError) throw this.sendError;
    return inputs.map((i) => {
      try {
        return { message: this.storeOne(i) };
      } catch (err) {
        return { error: toErrorPayload(err) };
      }
    });
  }
  receiveMessages = notUsed;
  getReadReceipts = notUsed;
  getConversations = notUsed;
  markConversationRead = notUsed;
  setReceiptMode = notUsed;
  loadOlder = notUsed;
  flush = async (): Promise<void> => undefined;
  clearRejected = notUsed;
  close = async (): Promise<void> => undefined;
  async setToken(token: string): Promise<void> {
    this.calls.push(`setToken:${token}`);
  }
  async signOut(options: { wipe?: boolean }): Promise<{ wiped: boolean; unsentAcks: number; unsentMessages: number }> {
    this.calls.push(`signOut:${options.wipe === true}`);
    return { wiped: options.wipe === true, unsentAcks: 0, unsentMessages: 0 };
  }

  /** The fake's send rules: a string text, and no receipts in the 'hangout' group. */
  private check(input: SendMessageInput): void {
    if (typeof input?.text !== 'string') throw new ValidationError('sendMessage: text must be a string');
    if (input.convId === 'hangout' && input.needReadReceipt) throw new ReceiptRuleError('receipts-disabled', 'sendMessage: hangout does not take read receipts');
  }

  private storeOne(input: SendMessageInput): LocalMessage {
    this.check(input);
    this.stored.push(input.text);
    const n = this.stored.length;
    return {
      id: input.id ?? `fakeMsg${String(n).padStart(9, '0')}`,
      convId: input.convId,
      convType: 'group',
      senderId: 'bob',
      text: input.text,
      needReadReceipt: input.needReadReceipt ?? false,
      createdAt: n,
      seq: null,
      sentAt: null,
      audienceCount: null,
      status: 'pending',
      ackStatus: 'none',
    };
  }

  private post(update: SubscriptionUpdate): void {
    this.pending.set(update.id, update);
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      const batch = [...this.pending.values()];
      this.pending.clear();
      if (batch.length === 0 || !this.sink) return;
      this.sinkCalls.push(batch);
      this.sink(batch);
    }, 0);
  }
}

function keyOf(q: Query): string {
  return JSON.stringify(q, Object.keys(q).sort());
}

async function notUsed(): Promise<never> {
  throw new Error('not used by these tests');
}
