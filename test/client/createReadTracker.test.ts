import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReadTracker, type ReadTrackerEnvironment, type ReadTrackerOptions } from '../../src/client';
import { ReadSyncError } from '../../src/protocol';

// The "really seen" logic, with the browser's parts faked: an IntersectionObserver
// the test drives, a page that is visible and focused or not, frames and time
// under fake timers.

class FakeObserver {
  static last: FakeObserver;
  readonly observed = new Set<Element>();
  constructor(
    private readonly callback: IntersectionObserverCallback,
    readonly init?: IntersectionObserverInit,
  ) {
    FakeObserver.last = this;
  }
  observe(el: Element): void {
    this.observed.add(el);
  }
  unobserve(el: Element): void {
    this.observed.delete(el);
  }
  disconnect(): void {
    this.observed.clear();
  }
  /** The browser reports how much of each element is inside the root now. */
  show(...seen: [Element, number][]): void {
    const entries = seen
      .filter(([el]) => this.observed.has(el))
      .map(([target, ratio]) => ({ target, intersectionRatio: ratio, isIntersecting: ratio > 0 }) as IntersectionObserverEntry);
    if (entries.length > 0) this.callback(entries, this as unknown as IntersectionObserver);
  }
}

let active = true;
let listeners = new Set<() => void>();
const environment: ReadTrackerEnvironment = {
  IntersectionObserver: FakeObserver as unknown as ReadTrackerEnvironment['IntersectionObserver'],
  isActive: () => active,
  onActiveChange(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  requestFrame(cb) {
    const t = setTimeout(cb, 16);
    return () => clearTimeout(t);
  },
  now: () => Date.now(),
};
function setActive(value: boolean): void {
  active = value;
  for (const l of [...listeners]) l();
}

const el = (name: string) => ({ name }) as unknown as Element;
const [a, b, c] = [el('a'), el('b'), el('c')];
let calls: string[][];
let fail: Error | null;
const client = {
  markRead: vi.fn(async (ids: string | { id: string } | readonly (string | { id: string })[]) => {
    calls.push([...(ids as string[])]);
    if (fail) throw fail;
    return { queued: (ids as string[]).length, alreadyRead: 0, skipped: [] };
  }),
};

function tracker(options: Partial<ReadTrackerOptions> = {}) {
  return createReadTracker(client, { environment, minVisibleMs: 500, ...options });
}

beforeEach(() => {
  vi.useFakeTimers();
  active = true;
  listeners = new Set();
  calls = [];
  fail = null;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createReadTracker', () => {
  it('reads a message once it has been visible enough for long enough, not before', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    FakeObserver.last.show([a, 0.6]);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(calls).toEqual([['m-a']]);
  });

  it('does not read a message that shows too little of itself, or is scrolled past too quickly', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    t.observe(b, 'm-b');
    FakeObserver.last.show([a, 0.3], [b, 1]);
    await vi.advanceTimersByTimeAsync(300);
    FakeObserver.last.show([b, 0]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual([]);
  });

  it('batches the messages that qualify together into one markRead', async () => {
    const t = tracker();
    for (const [e, id] of [[a, 'm-a'], [b, 'm-b'], [c, 'm-c']] as const) t.observe(e, id);
    FakeObserver.last.show([a, 1], [b, 0.9], [c, 0.7]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([['m-a', 'm-b', 'm-c']]);
  });

  it('with an interval, one markRead per interval', async () => {
    const t = tracker({ batch: 1000, minVisibleMs: 0 });
    t.observe(a, 'm-a');
    t.observe(b, 'm-b');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(400);
    FakeObserver.last.show([b, 1]);
    await vi.advanceTimersByTimeAsync(700);
    expect(calls).toEqual([['m-a', 'm-b']]);
  });

  it('reads each message once, however often it is seen again', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(600);
    t.observe(a, 'm-a');
    t.observe(b, 'm-a'); // a re-rendered row of the same message
    FakeObserver.last.show([a, 1], [b, 1]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual([['m-a']]);
  });

  it('counts nothing while the page is hidden or unfocused; the time starts when the user is back', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    setActive(false);
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual([]);
    setActive(true);
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([['m-a']]);
  });

  it('a blur in the middle of the minimum time starts it again', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(400);
    setActive(false);
    await vi.advanceTimersByTimeAsync(100);
    setActive(true);
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([['m-a']]);
  });

  it('unobserve before the minimum time: not read', async () => {
    const t = tracker();
    t.observe(a, 'm-a');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(300);
    t.unobserve(a);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual([]);
  });

  it('dispose sends what already qualified (no lost receipt) and stops watching', async () => {
    const t = tracker({ batch: 10_000 });
    t.observe(a, 'm-a');
    t.observe(b, 'm-b');
    FakeObserver.last.show([a, 1], [b, 1]);
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toEqual([]); // waiting for the interval
    t.dispose();
    expect(calls).toEqual([['m-a', 'm-b']]);
    expect(FakeObserver.last.observed.size).toBe(0);
    expect(listeners.size).toBe(0);
    t.observe(c, 'm-c');
    FakeObserver.last.show([c, 1]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toEqual([['m-a', 'm-b']]);
  });

  it('a failed markRead is reported, and the message is read again when seen again', async () => {
    const errors: unknown[] = [];
    const t = tracker({ onError: (e) => errors.push(e) });
    t.observe(a, 'm-a');
    fail = new ReadSyncError('storage', 'disk full');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(600);
    expect(errors).toEqual([fail]);
    fail = null;
    await vi.advanceTimersByTimeAsync(600); // still on screen: counted again
    expect(calls).toEqual([['m-a'], ['m-a']]);
  });

  it('a closed client is not an error: nothing is reported', async () => {
    const errors: unknown[] = [];
    const t = tracker({ onError: (e) => errors.push(e) });
    t.observe(a, 'm-a');
    fail = new ReadSyncError('closed', 'The readsync client is closed');
    FakeObserver.last.show([a, 1]);
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toEqual([['m-a']]);
    expect(errors).toEqual([]);
  });

  it('watches inside the given scroll container at the given fraction', () => {
    const root = el('list');
    tracker({ root, visibleFraction: 0.8 });
    expect(FakeObserver.last.init?.root).toBe(root);
    expect(FakeObserver.last.init?.threshold).toContain(0.8);
  });
});
