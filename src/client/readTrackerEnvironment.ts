/**
 * What `createReadTracker` needs from the page, injectable so that its timing
 * and its "is the user looking?" rule are tested with fakes and fake timers.
 */
export interface ReadTrackerEnvironment {
  IntersectionObserver: new (callback: IntersectionObserverCallback, init?: IntersectionObserverInit) => Pick<IntersectionObserver, 'observe' | 'unobserve' | 'disconnect'>;
  /** True while the user can see the page: it is visible and has the focus. */
  isActive(): boolean;
  /** Calls `listener` whenever `isActive()` may have changed; returns the unsubscribe. */
  onActiveChange(listener: () => void): () => void;
  /** Runs `callback` before the next paint; returns a cancel function. */
  requestFrame(callback: () => void): () => void;
  /** A monotonic clock in ms. */
  now(): number;
}

/** The page's own: `visibilitychange` on the document, `focus`/`blur` on the window. */
export function pageEnvironment(): ReadTrackerEnvironment {
  return {
    IntersectionObserver,
    isActive: () => document.visibilityState === 'visible' && document.hasFocus(),
    onActiveChange(listener) {
      document.addEventListener('visibilitychange', listener);
      window.addEventListener('focus', listener);
      window.addEventListener('blur', listener);
      return () => {
        document.removeEventListener('visibilitychange', listener);
        window.removeEventListener('focus', listener);
        window.removeEventListener('blur', listener);
      };
    },
    requestFrame(callback) {
      const handle = requestAnimationFrame(() => callback());
      return () => cancelAnimationFrame(handle);
    },
    now: () => performance.now(),
  };
}
