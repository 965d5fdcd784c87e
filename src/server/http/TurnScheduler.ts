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

  private readonly queue: (() => Promise<void>)[] = [];
  private scheduled = false;
  private inFlight = 0;
  private turnEnd = 0;

  constructor(
    /** Work started per turn, in ms; a task is never cut, so a turn may run one task over it. */
    private readonly budgetMs = 5,
    private readonly now: () => number = () => performance.now(),
    /**
     * Tasks in flight at once. 1 (default) suits a store that works
     * synchronously (SQLite): each task runs to its end, in the microtasks of
     * the turn that started it, before the next starts, so the budget bounds
     * the turn. A store that waits on the network (PostgreSQL) gets more, so
     * the requests' round trips overlap; the budget then bounds what one turn
     * starts.
     */
    private readonly concurrency = 1,
  ) {}

  /** Tasks waiting for a turn. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Runs `fn` in a later turn, after the work queued before it; settles with
   * its result (or its error). Its time counts against the turn's budget up to
   * where it waits on I/O: work after that runs when the I/O is done.
   */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(async () => {
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        }
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.concurrency) return;
    this.scheduled = true;
    setImmediate(this.startTurn);
  }

  private readonly startTurn = (): void => {
    this.scheduled = false;
    this.turnEnd = this.now() + this.budgetMs;
    this.startNext();
  };

  /** Starts queued tasks up to the concurrency; each one's end starts the next while the turn's budget lasts. */
  private startNext(): void {
    while (this.inFlight < this.concurrency) {
      const task = this.queue.shift();
      if (!task) return;
      this.inFlight++;
      void task().then(this.done);
      if (this.inFlight < this.concurrency && this.now() >= this.turnEnd) break;
    }
  }

  private readonly done = (): void => {
    this.inFlight--;
    if (this.queue.length === 0) return;
    if (this.now() < this.turnEnd) this.startNext();
    else this.schedule();
  };
}
