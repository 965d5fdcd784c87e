import type { MarkReadResult, MessageRef } from '../bridge';
import { hasErrorCode } from '../protocol';
import { pageEnvironment, type ReadTrackerEnvironment } from './readTrackerEnvironment';

/** Options of `createReadTracker`. */
export interface ReadTrackerOptions {
  /** The scrolling element the messages show in (IntersectionObserver's root). Default: the viewport. */
  root?: Element | Document | null;
  /** IntersectionObserver's rootMargin, e.g. `'-48px 0px 0px 0px'` under a sticky header. */
  rootMargin?: string;
  /**
   * How much of a message must be inside the root to count as visible, 0..1.
   * Default 0.6. A message taller than the root counts once it fills that
   * fraction of the root.
   */
  visibleFraction?: number;
  /**
   * How long (ms) a message must stay visible, with the page visible and
   * focused all along, before it counts as read. Default 500; the clock starts
   * again after the page was hidden or lost the focus.
   */
  minVisibleMs?: number;
  /** `'frame'` (default): one `markRead` per animation frame at most; a number: at most one per that many ms. */
  batch?: 'frame' | number;
  /**
   * A `markRead` that failed (the messages are tracked again and read when next
   * seen). Default: `console.error`. A closed client is not reported.
   */
  onError?: (error: unknown) => void;
  /** Where visibility, focus, frames and IntersectionObserver come from. Default: the page's. */
  environment?: ReadTrackerEnvironment;
}

/** Tracks message elements and acknowledges each message once the user has really seen it. */
export interface ReadTracker {
  /** Starts watching `element`, which shows message `messageId`. A message already read here is ignored. */
  observe(element: Element, messageId: string): void;
  /** Stops watching `element` (it left the list). A message that already counted as seen is still acknowledged. */
  unobserve(element: Element): void;
  /** Acknowledges what already counted as seen, then stops everything. Later calls do nothing. */
  dispose(): void;
}

/** The part of the client a tracker uses. */
export interface ReadTrackerClient {
  markRead(messages: MessageRef | readonly MessageRef[]): Promise<MarkReadResult>;
}

interface Watched {
  id: string;
  visible: boolean;
  /** Since when it has been visible with the page active; null when not. */
  since: number | null;
  /** Counted as seen and waiting for (or inside) a markRead. */
  queued: boolean;
}

/**
 * The "really seen" rule every chat UI needs, in one place:
 *
 * ```ts
 * const tracker = createReadTracker(client, { root: listElement });
 * tracker.observe(rowElement, message.id); // for others' messages that asked for receipts
 * tracker.unobserve(rowElement);           // when the row goes away
 * tracker.dispose();                       // when the list goes away
 * ```
 *
 * A message counts as read once at least `visibleFraction` of it has been
 * inside `root` for `minVisibleMs`, while the page was visible and focused.
 * Messages that count in the same frame (or `batch` interval) go to the
 * worker in one `markRead`; each message is acknowledged once.
 */
export function createReadTracker(client: ReadTrackerClient, options: ReadTrackerOptions = {}): ReadTracker {
  const env = options.environment ?? pageEnvironment();
  const fraction = Math.min(1, Math.max(0, options.visibleFraction ?? 0.6));
  const minVisibleMs = Math.max(0, options.minVisibleMs ?? 500);
  const batch = options.batch ?? 'frame';
  const onError = options.onError ?? ((err: unknown) => console.error('readsync: markRead failed', err));

  const watched = new Map<Element, Watched>();
  const queue = new Set<string>();
  const inflight = new Set<string>();
  const done = new Set<string>();
  let disposed = false;
  let dwellTimer: ReturnType<typeof setTimeout> | undefined;
  let cancelFlush: (() => void) | null = null;

  const thresholds = [...new Set([0, 0.25, 0.5, 0.75, 1, fraction])].sort((x, y) => x - y);
  const observer = new env.IntersectionObserver(
    (entries) => {
      const active = env.isActive();
      const now = env.now();
      for (const e of entries) {
        const w = watched.get(e.target);
        if (!w) continue;
        const fills = e.rootBounds && e.intersectionRect ? e.intersectionRect.height >= e.rootBounds.height * fraction : false;
        w.visible = e.isIntersecting && (e.intersectionRatio >= fraction - 0.001 || fills);
        if (!w.visible) w.since = null;
        else if (active && w.since === null) w.since = now;
      }
      check();
    },
    { root: options.root ?? null, rootMargin: options.rootMargin ?? '0px', threshold: thresholds },
  );

  const stopActive = env.onActiveChange(() => {
    if (disposed) return;
    const active = env.isActive();
    const now = env.now();
    for (const w of watched.values()) w.since = active && w.visible ? (w.since ?? now) : null;
    if (!active) flush(); // what already counted goes now: frames stop in a hidden page
    check();
  });

  /** Queues what has been seen long enough, and sets a timer for the next one due. */
  function check(): void {
    clearTimeout(dwellTimer);
    dwellTimer = undefined;
    if (disposed) return;
    const now = env.now();
    let next = Infinity;
    for (const w of watched.values()) {
      if (w.queued || w.since === null) continue;
      const due = w.since + minVisibleMs;
      if (due <= now) {
        w.queued = true;
        queue.add(w.id);
      } else next = Math.min(next, due);
    }
    if (queue.size > 0) scheduleFlush();
    if (next !== Infinity) dwellTimer = setTimeout(check, next - now);
  }

  function scheduleFlush(): void {
    if (cancelFlush) return;
    if (batch === 'frame') cancelFlush = env.requestFrame(flush);
    else {
      const t = setTimeout(flush, batch);
      cancelFlush = () => clearTimeout(t);
    }
  }

  function flush(): void {
    cancelFlush?.();
    cancelFlush = null;
    const ids = [...queue].filter((id) => !inflight.has(id) && !done.has(id));
    queue.clear();
    if (ids.length === 0) return;
    for (const id of ids) inflight.add(id);
    client.markRead(ids).then(
      () => {
        for (const id of ids) {
          inflight.delete(id);
          done.add(id);
        }
        for (const [el, w] of watched) {
          if (!done.has(w.id)) continue;
          watched.delete(el);
          observer.unobserve(el);
        }
      },
      (err: unknown) => {
        for (const id of ids) inflight.delete(id);
        if (hasErrorCode(err, 'closed')) return;
        // Not acknowledged: each still-watched row counts again from now on.
        const again = new Set(ids);
        const active = env.isActive();
        const now = env.now();
        for (const w of watched.values()) {
          if (!again.has(w.id)) continue;
          w.queued = false;
          w.since = active && w.visible ? now : null;
        }
        check();
        onError(err);
      },
    );
  }

  return {
    observe(element, messageId) {
      if (disposed || done.has(messageId)) return;
      if (watched.get(element)?.id === messageId) return;
      watched.set(element, { id: messageId, visible: false, since: null, queued: false });
      observer.observe(element);
    },
    unobserve(element) {
      if (!watched.delete(element)) return;
      observer.unobserve(element);
      check();
    },
    dispose() {
      if (disposed) return;
      flush();
      disposed = true;
      clearTimeout(dwellTimer);
      observer.disconnect();
      watched.clear();
      stopActive();
    },
  };
}
