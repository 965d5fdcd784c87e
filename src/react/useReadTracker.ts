import { useCallback, useEffect, useRef, type RefObject } from 'react';
import { createReadTracker, type ReadTracker, type ReadTrackerOptions } from '../client';
import { useReadSyncClient } from './ReadSyncProvider';

/** Options of `useReadTracker`: those of `createReadTracker`, with the scroll container as a ref. */
export interface UseReadTrackerOptions extends Omit<ReadTrackerOptions, 'root'> {
  /** The scrolling element the messages show in. Default: the viewport. */
  root?: RefObject<Element | null>;
}

/** Gives a message row to the tracker: `<li ref={track(message.id)}>`. */
export type TrackRef = (messageId: string) => (element: Element | null) => void | (() => void);

/**
 * Acknowledges messages once the user has really seen them
 * (`createReadTracker`, one per provider client and options):
 *
 * ```tsx
 * const list = useRef<HTMLOListElement>(null);
 * const track = useReadTracker({ root: list });
 * <li ref={needsMyReceipt(m) ? track(m.id) : undefined}>
 * ```
 *
 * The rows live in the hook, the tracker in an effect: StrictMode's second
 * mount gets a new tracker that takes over every row, and the first one's
 * `dispose()` has sent what already counted, so nothing is lost or left
 * behind. The ref of one message id is the same function on every render.
 */
export function useReadTracker(options: UseReadTrackerOptions = {}): TrackRef {
  const client = useReadSyncClient();
  const rows = useRef(new Map<Element, string>());
  const tracker = useRef<ReadTracker | null>(null);
  const refs = useRef(new Map<string, (element: Element | null) => void | (() => void)>());
  const onError = useRef(options.onError);
  useEffect(() => {
    onError.current = options.onError;
  });

  const { root, rootMargin, visibleFraction, minVisibleMs, batch, environment } = options;
  useEffect(() => {
    const t = createReadTracker(client, {
      root: root?.current ?? null,
      ...(rootMargin !== undefined && { rootMargin }),
      ...(visibleFraction !== undefined && { visibleFraction }),
      ...(minVisibleMs !== undefined && { minVisibleMs }),
      ...(batch !== undefined && { batch }),
      ...(environment !== undefined && { environment }),
      onError: (err) => (onError.current ?? ((e: unknown) => console.error('readsync: markRead failed', e)))(err),
    });
    tracker.current = t;
    for (const [el, id] of rows.current) t.observe(el, id);
    return () => {
      if (tracker.current === t) tracker.current = null;
      t.dispose();
    };
  }, [client, root, rootMargin, visibleFraction, minVisibleMs, batch, environment]);

  return useCallback((messageId: string) => {
    let ref = refs.current.get(messageId);
    if (!ref) {
      let attached: Element | null = null;
      const detach = (): void => {
        if (!attached) return;
        rows.current.delete(attached);
        tracker.current?.unobserve(attached);
        attached = null;
      };
      ref = (element) => {
        detach(); // React 18 calls the ref with null; React 19 calls the cleanup below
        if (!element) return undefined;
        attached = element;
        rows.current.set(element, messageId);
        tracker.current?.observe(element, messageId);
        return detach;
      };
      refs.current.set(messageId, ref);
    }
    return ref;
  }, []);
}
