import { nextTask, unpackRange, updateCount, type SubscriptionUpdate, type UpdateBatch } from '../bridge';

/** The page's clock and frames, injectable so tests drive them by hand. */
export interface DispatchEnvironment {
  /** Milliseconds, monotonic. */
  now(): number;
  /**
   * Calls `fn` in a task after the next frame has begun (the browser painted
   * what the last slice changed). Where no frames run (a hidden page, Node),
   * just in a new task: nothing is painted, so there is nothing to pace.
   */
  afterNextFrame(fn: () => void): void;
}

/** Time given to subscriber callbacks per frame: half a 60 Hz frame, the rest is the app's and the browser's. */
export const FRAME_BUDGET_MS = 8;
/** Updates delivered between two looks at the clock. */
const CHECK_EVERY = 64;
/**
 * A batch this small may be delivered in a frame that already had a delivery
 * (while the budget lasts): it costs microseconds, and holding it for a frame
 * would only add up to 16 ms to a single receipt. Larger ones get one
 * delivery per frame.
 */
export const SMALL_BATCH = 64;
/** A page hidden while a frame was requested never gets it: go on after this long anyway. */
const FRAME_FALLBACK_MS = 100;

/** requestAnimationFrame then a task, when the page is visible; otherwise a task. */
export function browserDispatchEnvironment(): DispatchEnvironment {
  const doc = (globalThis as { document?: { visibilityState?: string } }).document;
  return {
    now: () => performance.now(),
    afterNextFrame(fn) {
      if (typeof requestAnimationFrame !== 'function' || doc?.visibilityState !== 'visible') return nextTask(fn);
      let done = false;
      const go = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        nextTask(fn);
      };
      const timer = setTimeout(go, FRAME_FALLBACK_MS);
      requestAnimationFrame(go);
    },
  };
}

interface Pending {
  batch: UpdateBatch | SubscriptionUpdate[];
  next: number;
  size: number;
}

/**
 * The page side of the update channel: hands the worker's batches to the
 * subscribers (`deliver`) without long main-thread tasks, at most one
 * delivery of any size per frame.
 *
 * A batch that arrives when nothing was delivered in this frame yet, or a
 * small one (≤ SMALL_BATCH updates) while this frame's callback budget
 * lasts, is delivered at once, in the task that received it: a single
 * receipt waits for nothing. Otherwise it waits for the next frame.
 * Delivery stops when the frame's budget is spent; the rest goes on after
 * the next frame, one slice per frame, so 50,000 updates cost many short
 * tasks instead of one long one. Batches are delivered strictly in arrival
 * order, a slice never skipping ahead: a later value for a subscription can
 * never be overtaken by the rest of an earlier batch.
 */
export class UpdateDispatcher {
  private readonly queue: Pending[] = [];
  /** Callback time spent since the current frame began. */
  private used = 0;
  /** Something was delivered since the current frame began. */
  private deliveredThisFrame = false;
  private frameRequested = false;
  private delivering = false;
  private stopped = false;

  constructor(
    private readonly deliver: (updates: SubscriptionUpdate[]) => void,
    private readonly env: DispatchEnvironment = browserDispatchEnvironment(),
    private readonly budgetMs = FRAME_BUDGET_MS,
  ) {}

  /** One batch from the worker. */
  push(batch: UpdateBatch | SubscriptionUpdate[]): void {
    if (this.stopped) return;
    const size = updateCount(batch);
    if (size === 0) return;
    this.queue.push({ batch, next: 0, size });
    // Anything already waiting goes first, at the next frame; this one joins it.
    const now = this.queue.length === 1 && (!this.deliveredThisFrame || (size <= SMALL_BATCH && this.used < this.budgetMs));
    if (now) this.slice();
    else this.requestFrame();
  }

  /** Updates received but not yet delivered. */
  get backlog(): number {
    let n = 0;
    for (const p of this.queue) n += p.size - p.next;
    return n;
  }

  /** Drops what is queued and delivers nothing more (the client closed or failed). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private slice(): void {
    // A subscriber callback cannot receive a post, but it may close the client: never re-enter.
    if (this.delivering) return;
    this.delivering = true;
    this.deliveredThisFrame = true;
    const t0 = this.env.now();
    try {
      while (!this.stopped && this.queue.length > 0 && this.used + (this.env.now() - t0) < this.budgetMs) {
        const head = this.queue[0] as Pending;
        const to = Math.min(head.size, head.next + CHECK_EVERY);
        const updates = unpackRange(head.batch, head.next, to);
        head.next = to;
        if (head.next >= head.size) this.queue.shift();
        this.deliver(updates);
      }
    } finally {
      this.used += this.env.now() - t0;
      this.delivering = false;
      // Time spent in this frame: the next frame gives a new budget (and the rest, if any).
      this.requestFrame();
    }
  }

  private requestFrame(): void {
    if (this.frameRequested || this.stopped) return;
    this.frameRequested = true;
    this.env.afterNextFrame(() => {
      this.frameRequested = false;
      this.used = 0;
      this.deliveredThisFrame = false;
      if (this.queue.length > 0) this.slice();
    });
  }
}
