import { useMemo, useSyncExternalStore, type DependencyList } from 'react';
import type { Observable } from 'rxjs';
import { initialResult, liveStore, type LiveResult } from './liveStore';
import { useReadSyncClient, type ReadSyncClientLike } from './ReadSyncProvider';

/**
 * The latest value of an observable of the provider's client, through
 * `useSyncExternalStore`. `select` picks the observable; it is called again
 * when the client or `deps` change.
 */
export function useLive<T>(select: (client: ReadSyncClientLike) => Observable<T>, deps: DependencyList): LiveResult<T> {
  const client = useReadSyncClient();
  const store = useMemo(() => liveStore(select(client)), [client, ...deps]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, initialResult<T>);
}
