import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { ReadSyncClient } from '../client';

/**
 * The client as the hooks see it: every public member of `ReadSyncClient`.
 * Structural on purpose: this entry's bundled types carry their own copy of
 * the class, and a class with private fields would not accept the one from
 * `readsync`.
 */
export type ReadSyncClientLike = Pick<ReadSyncClient, keyof ReadSyncClient>;

const ClientContext = createContext<ReadSyncClientLike | null>(null);

/** Props of `ReadSyncProvider`: a client you own, or a factory the provider calls and owns. */
export type ReadSyncProviderProps =
  | {
      /** A client created outside React (module scope, your auth layer). Never closed by the provider. */
      client: ReadSyncClientLike;
      create?: never;
      fallback?: never;
      children?: ReactNode;
    }
  | {
      /**
       * Creates the client once this provider mounts; the provider closes it
       * when it unmounts for good. Give the provider `key={userId}` so that
       * another user gets another client.
       */
      create: () => ReadSyncClientLike;
      client?: never;
      /** Rendered until the client exists (the first commit). Default: nothing. */
      fallback?: ReactNode;
      children?: ReactNode;
    };

/**
 * Makes a readsync client available to the hooks below it.
 *
 * With `create`, the client is created in an effect, never during render
 * (StrictMode renders twice and would start a worker it then drops), and its
 * `close()` waits one task: StrictMode's unmount-and-mount-again keeps the same
 * client open, while a real unmount closes it.
 */
export function ReadSyncProvider(props: ReadSyncProviderProps): ReactNode {
  const owned = useOwnedClient(props.create);
  const client = props.client ?? owned;
  if (!client) return props.fallback ?? null;
  return createElement(ClientContext.Provider, { value: client }, props.children);
}

/** The client of the nearest `ReadSyncProvider`; throws when there is none. */
export function useReadSyncClient(): ReadSyncClientLike {
  const client = useContext(ClientContext);
  if (!client) throw new Error('readsync/react: no <ReadSyncProvider> above this component');
  return client;
}

function useOwnedClient(create: (() => ReadSyncClientLike) | undefined): ReadSyncClientLike | null {
  const [client, setClient] = useState<ReadSyncClientLike | null>(null);
  const held = useRef<{ client: ReadSyncClientLike; closeTimer?: ReturnType<typeof setTimeout> } | null>(null);
  const factory = useRef(create);
  useEffect(() => {
    factory.current = create;
  });
  const wanted = create !== undefined;
  useEffect(() => {
    if (!wanted) return undefined;
    let h = held.current;
    if (h) clearTimeout(h.closeTimer); // StrictMode's second mount, or a remount within one task: keep it
    else h = held.current = { client: factory.current!() };
    const mine = h;
    setClient(mine.client);
    return () => {
      mine.closeTimer = setTimeout(() => {
        if (held.current === mine) held.current = null;
        void mine.client.close();
      }, 0);
    };
  }, [wanted]);
  return wanted ? client : null;
}
