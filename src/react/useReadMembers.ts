import { useCallback, useEffect, useRef, useState } from 'react';
import type { MessageRef } from '../bridge';
import { ReadSyncError, type MemberFilter, type ReadMember } from '../protocol';
import { useReadSyncClient } from './ReadSyncProvider';

/** Options of `useReadMembers`. */
export interface UseReadMembersOptions {
  /**
   * Who has (`'read'`) or has not (`'unread'`) read the message, or has not
   * read it but whose devices have it (`'delivered'`, with a server that
   * counts deliveries).
   */
  filter: MemberFilter;
  /** Members per page (capped by the server). Default 20. */
  pageSize?: number;
}

/** The members loaded so far, and how to load more. */
export interface ReadMembersResult {
  members: ReadMember[];
  /** No more pages. */
  isFinished: boolean;
  /** A page is on its way. */
  loading: boolean;
  error: ReadSyncError | null;
  /** Loads the next page (ignored while one loads or when finished). */
  loadMore(): void;
  /** Starts again from the first page (e.g. after the counts changed). */
  reload(): void;
}

interface State {
  members: ReadMember[];
  isFinished: boolean;
  loading: boolean;
  error: ReadSyncError | null;
}

const EMPTY: State = { members: [], isFinished: false, loading: true, error: null };

/**
 * Pages through the members who have or have not read (or have received
 * and not read) my group message
 * (`client.getReadMembers`). The first page loads on mount and whenever the
 * message, filter or page size change; answers to an earlier request are
 * dropped, so StrictMode's double mount and fast switching show one list.
 */
export function useReadMembers(message: MessageRef, options: UseReadMembersOptions): ReadMembersResult {
  const client = useReadSyncClient();
  const messageId = typeof message === 'string' ? message : message.id;
  const { filter, pageSize = 20 } = options;
  const [state, setState] = useState<State>(EMPTY);
  const [generation, setGeneration] = useState(0);
  /** The request whose answer counts; bumped by every (re)start. */
  const current = useRef(0);
  /** Cursor and flags as of the last answer, for loadMore (read outside render). */
  const progress = useRef({ cursor: null as string | null, isFinished: false, busy: false });

  const load = useCallback(
    (cursor: string | null, request: number) => {
      progress.current.busy = true;
      setState((s) => ({ ...s, loading: true, error: null }));
      client.getReadMembers(messageId, { filter, cursor, count: pageSize }).then(
        (page) => {
          if (current.current !== request) return;
          progress.current = { cursor: page.nextCursor, isFinished: page.isFinished, busy: false };
          setState((s) => ({ members: cursor === null ? page.members : [...s.members, ...page.members], isFinished: page.isFinished, loading: false, error: null }));
        },
        (err: unknown) => {
          if (current.current !== request) return;
          progress.current.busy = false;
          const error = err instanceof ReadSyncError ? err : new ReadSyncError('internal', String(err));
          setState((s) => ({ ...s, loading: false, error }));
        },
      );
    },
    [client, messageId, filter, pageSize],
  );

  useEffect(() => {
    const request = ++current.current;
    progress.current = { cursor: null, isFinished: false, busy: true };
    setState(EMPTY);
    // A microtask later: StrictMode's immediate unmount cancels it, so one request goes out, not two.
    queueMicrotask(() => {
      if (current.current === request) load(null, request);
    });
    return () => {
      if (current.current === request) current.current++;
    };
  }, [load, generation]);

  const loadMore = useCallback(() => {
    const p = progress.current;
    if (p.busy || p.isFinished) return;
    load(p.cursor, current.current);
  }, [load]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  return { members: state.members, isFinished: state.isFinished, loading: state.loading, error: state.error, loadMore, reload };
}
