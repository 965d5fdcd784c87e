import type { EnvironmentSignal, MessageRef, Query, SubscriptionUpdate, UpdateBatch, WorkerApi, WorkerInitOptions } from '../../src/bridge';
import { ReceiptRuleError, type ErrorPayload, type MessageReceipt } from '../../src/protocol';

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
  sendMessage = notUsed;
  sendMessages = notUsed;
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
