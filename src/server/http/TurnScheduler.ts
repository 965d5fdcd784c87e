/**
 * Runs request work (synchronous SQLite through the core) in arrival order,
 * at most `budgetMs` of it per event-loop turn, then yields to I/O.
 *
 * Why: Node accepts at most one new connection per event-loop turn (libuv
 * calls accept() once per readiness of the listening socket). When each
 * turn runs every request that arrived on 200 busy keep-alive connections
 * back to back, a turn lasts a second or more, and a client on a fresh
 * connection waits one such turn to be accepted, another to be read: under
 * load, /healthz on a new connection took 8-10 s at the median and about
 * half of the probes timed out after 10 s (docs/benchmarks.md). With the work queued and drained in slices from
 * `setImmediate`, the loop comes back to the poll phase every few
 * milliseconds: new connections are accepted and read, and requests that do
 * no store work (/healthz) are answered at once, while queued requests still
 * run in FIFO order at the same throughput.
 */
export class TurnScheduler {
  /** One scheduler per event loop: every server in this process (thread) shares its turns. */
  static readonly shared = new TurnScheduler();

  private readonly queue: (() => void)[] = [];
  private draining = false;

  constructor(
    /** Work started per turn, in ms; a task is never cut, so a turn may run one task over it. */
    private readonly budgetMs = 5,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Tasks waiting for a turn. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Runs `fn` in a later turn, after the work queued before it; settles with
   * its result (or its error). `fn` should do its work synchronously: what it
   * leaves for after an `await` runs outside the budget.
   */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      });
      if (!this.draining) {
        this.draining = true;
        setImmediate(this.drain);
      }
    });
  }

  private readonly drain = (): void => {
    const end = this.now() + this.budgetMs;
    do {
      const task = this.queue.shift();
      if (!task) break;
      task();
    } while (this.now() < end);
    if (this.queue.length > 0) setImmediate(this.drain);
    else this.draining = false;
  };
}
