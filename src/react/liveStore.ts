import type { Observable } from 'rxjs';
import { ReadSyncError } from '../protocol';

/** What a live hook returns: the latest value of one of the client's observables. */
export interface LiveResult<T> {
  /** The latest value; undefined until the first one arrives. */
  data: T | undefined;
  /** The error that ended the stream (`worker-failed`, `invalid-argument`…), else null. */
  error: ReadSyncError | null;
  /** True until the first value, an error or the end of the stream. */
  loading: boolean;
}

/** The store `useSyncExternalStore` reads: one observable, its latest result. */
export interface LiveStore<T> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): LiveResult<T>;
}

const INITIAL: LiveResult<never> = { data: undefined, error: null, loading: true };

/**
 * Adapts an observable of the client to `useSyncExternalStore`. Creating it
 * subscribes to nothing; each `subscribe` is one subscription of the
 * observable, ended by the returned function. That is what makes StrictMode's
 * mount, unmount, mount harmless: the client's registry shares identical
 * queries and sends a subscribe and release of the same tick to nobody, so
 * one worker-side query is left, not two.
 *
 * A closed client completes its observables (never errors them): the last
 * value stays, `loading` turns false.
 */
export function liveStore<T>(source: Observable<T>): LiveStore<T> {
  let snapshot: LiveResult<T> = INITIAL;
  return {
    subscribe(onChange) {
      const sub = source.subscribe({
        next(value) {
          snapshot = { data: value, error: null, loading: false };
          onChange();
        },
        error(err: unknown) {
          snapshot = { data: snapshot.data, error: err instanceof ReadSyncError ? err : new ReadSyncError('internal', String(err)), loading: false };
          onChange();
        },
        complete() {
          if (!snapshot.loading) return;
          snapshot = { ...snapshot, loading: false };
          onChange();
        },
      });
      return () => sub.unsubscribe();
    },
    getSnapshot: () => snapshot,
  };
}

/** The server render's snapshot: nothing yet. */
export function initialResult<T>(): LiveResult<T> {
  return INITIAL;
}
