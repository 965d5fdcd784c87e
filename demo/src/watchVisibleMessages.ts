/**
 * Calls `onRead` with the ids of watched elements that are really visible:
 * at least 60% inside the list's viewport while the page is visible. Ids
 * seen while the page is hidden are reported when it becomes visible again.
 * Each id is reported once; calls are batched (one markRead per burst).
 */
export function watchVisibleMessages(root: HTMLElement, onRead: (ids: string[]) => void) {
  const ids = new WeakMap<Element, string>();
  const inView = new Set<Element>();
  const reported = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const report = (): void => {
    timer = undefined;
    if (document.visibilityState !== 'visible') return;
    const batch: string[] = [];
    for (const el of inView) {
      const id = ids.get(el);
      if (id !== undefined && !reported.has(id)) {
        reported.add(id);
        batch.push(id);
      }
      observer.unobserve(el);
    }
    inView.clear();
    if (batch.length > 0) onRead(batch);
  };
  const schedule = (): void => {
    timer ??= setTimeout(report, 150);
  };
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (e.isIntersecting && e.intersectionRatio >= 0.6) inView.add(e.target);
        else inView.delete(e.target);
      }
      if (inView.size > 0) schedule();
    },
    { root, threshold: [0, 0.6, 1] },
  );
  const onVisibility = (): void => {
    if (document.visibilityState === 'visible' && inView.size > 0) schedule();
  };
  document.addEventListener('visibilitychange', onVisibility);

  return {
    watch(el: Element, id: string): void {
      if (reported.has(id) || ids.get(el) === id) return;
      ids.set(el, id);
      observer.observe(el);
    },
    unwatch(el: Element): void {
      if (!ids.has(el)) return;
      ids.delete(el);
      inView.delete(el);
      observer.unobserve(el);
    },
    stop(): void {
      observer.disconnect();
      document.removeEventListener('visibilitychange', onVisibility);
      clearTimeout(timer);
    },
  };
}
