import { Observable, type Subscriber } from 'rxjs';
import type { Query, SubscriptionUpdate, WorkerApi } from '../bridge';
import { ReadSyncError, fromErrorPayload, toErrorPayload } from '../protocol';
import { isEventQuery, queryKey } from './queryKey';

/** The part of the worker API the registry drives. */
export type SubscriptionPort = Pick<WorkerApi, 'subscribe' | 'unsubscribe'>;

interface Entry {
  id: number;
  key: string;
  query: Query;
  subscribers: Set<Subscriber<unknown>>;
  hasValue: boolean;
  value: unknown;
}

/**
 * The UI side of the single subscription channel. Every observable the client
 * hands out is a view on one entry of this registry:
 *
 * - identical queries (same canonical key) share ONE worker subscription,
 *   refcounted by their subscribers; a late subscriber gets the latest value
 *   at once (except for event streams such as receipts);
 * - subscribe/unsubscribe calls are collected and sent once per microtask
 *   tick, many ids per call, in order;
 * - updates arrive in batches through `dispatch` (the one sink the worker
 *   calls) and fan out to the entries' subscribers;
 * - the last unsubscribe of an entry releases its worker subscription.
 */
export class SubscriptionRegistry {
  private readonly byKey = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  private nextId = 1;
  private toSubscribe = new Map<number, Query>();
  private toUnsubscribe = new Set<number>();
  private scheduled = false;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  private failure: ReadSyncError | null = null;

  constructor(
    private readonly port: SubscriptionPort,
    /** Background failures of subscribe/unsubscribe calls that belong to no live observable. */
    private readonly onError: (err: ReadSyncError) => void,
  ) {}

  /** A cold observable of the query's values; subscribing joins (or creates) the shared entry. */
  observe<T>(query: Query): Observable<T> {
    return new Observable<T>((subscriber) => {
      // A closed client is an ended stream, not a failure: a late subscriber
      // (a remount, a view opened during sign-out) completes at once.
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      if (this.failure) {
        subscriber.error(this.failure);
        return undefined;
      }
      const entry = this.acquire(query);
      const s = subscriber as Subscriber<unknown>;
      entry.subscribers.add(s);
      if (entry.hasValue && !isEventQuery(query)) s.next(entry.value);
      return () => this.release(entry, s);
    });
  }

  /** Applies one batch of updates from the worker. Ids no longer live are ignored. */
  dispatch(updates: readonly SubscriptionUpdate[]): void {
    for (const u of updates) {
      const entry = this.byId.get(u.id);
      if (!entry) continue;
      if (u.error !== undefined) {
        // The worker ended this subscription; drop it here and fail its observers.
        this.forget(entry);
        this.toUnsubscribe.add(entry.id);
        this.schedule();
        const err = fromErrorPayload(u.error);
        for (const s of [...entry.subscribers]) s.error(err);
        continue;
      }
      entry.hasValue = true;
      entry.value = u.value;
      // Iterate a snapshot: a callback may (un)subscribe the same query. One subscriber is the common case.
      if (entry.subscribers.size === 1) entry.subscribers.values().next().value?.next(u.value);
      else for (const s of [...entry.subscribers]) s.next(u.value);
    }
  }

  /** Live worker-side subscriptions as this side counts them (for tests and debugging). */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Completes every observer and releases every worker subscription. Resolves
   * when the final unsubscribe call has been answered (or failed).
   */
  async close(): Promise<void> {
    if (this.closed) return this.sending;
    const entries = [...this.byId.values()];
    for (const e of entries) {
      this.forget(e);
      if (!this.toSubscribe.delete(e.id)) this.toUnsubscribe.add(e.id);
    }
    this.send();
    this.closed = true;
    for (const e of entries) for (const s of [...e.subscribers]) s.complete();
    return this.sending;
  }

  /**
   * The worker is gone: every live observable errors with `err`, and so does
   * every later subscription. Nothing is sent to the worker any more.
   */
  fail(err: ReadSyncError): void {
    if (this.failure) return;
    this.failure = err;
    const entries = [...this.byId.values()];
    for (const e of entries) this.forget(e);
    this.toSubscribe.clear();
    this.toUnsubscribe.clear();
    for (const e of entries) for (const s of [...e.subscribers]) s.error(err);
  }

  private acquire(query: Query): Entry {
    const key = queryKey(query);
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { id: this.nextId++, key, query, subscribers: new Set(), hasValue: false, value: undefined };
      this.byKey.set(key, entry);
      this.byId.set(entry.id, entry);
      this.toSubscribe.set(entry.id, query);
      this.schedule();
    }
    return entry;
  }

  private release(entry: Entry, subscriber: Subscriber<unknown>): void {
    if (!entry.subscribers.delete(subscriber) || entry.subscribers.size > 0) return;
    if (this.byId.get(entry.id) !== entry) return; // already forgotten (error or close)
    this.forget(entry);
    // Subscribed and released within one tick: the worker never hears of it.
    if (!this.toSubscribe.delete(entry.id)) this.toUnsubscribe.add(entry.id);
    this.schedule();
  }

  private forget(entry: Entry): void {
    this.byKey.delete(entry.key);
    this.byId.delete(entry.id);
  }

  private schedule(): void {
    if (this.scheduled || this.closed || this.failure) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.send();
    });
  }

  /** Sends the collected changes as (at most) one unsubscribe and one subscribe call, after the previous ones. */
  private send(): void {
    const subs = [...this.toSubscribe].map(([id, query]) => ({ id, query }));
    const unsubs = [...this.toUnsubscribe].filter((id) => !this.toSubscribe.has(id));
    this.toSubscribe = new Map();
    this.toUnsubscribe = new Set();
    if (subs.length === 0 && unsubs.length === 0) return;
    this.sending = this.sending.then(async () => {
      if (unsubs.length > 0) {
        try {
          await this.port.unsubscribe(unsubs);
        } catch (err) {
          if (!this.failure) this.onError(asReadSyncError(err));
        }
      }
      if (subs.length > 0) {
        try {
          await this.port.subscribe(subs);
        } catch (err) {
          this.failSubscribe(subs.map((s) => s.id), asReadSyncError(err));
        }
      }
    });
  }

  /** A subscribe call failed as a whole: its still-live entries fail with that error. */
  private failSubscribe(ids: number[], err: ReadSyncError): void {
    let reported = false;
    for (const id of ids) {
      const entry = this.byId.get(id);
      if (!entry) continue;
      this.forget(entry);
      reported = true;
      for (const s of [...entry.subscribers]) s.error(err);
    }
    // After fail(), the client has reported the failure itself.
    if (!reported && !this.failure) this.onError(err);
  }
}

function asReadSyncError(err: unknown): ReadSyncError {
  return err instanceof ReadSyncError ? err : fromErrorPayload(toErrorPayload(err));
}
