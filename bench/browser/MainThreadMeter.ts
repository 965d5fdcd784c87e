/**
 * Watches the main thread during a measured window: animation frames that
 * ran, update posts that arrived (a post = one synchronous dispatch, counted
 * once per task), and long tasks (PerformanceObserver 'longtask').
 */
export class MainThreadMeter {
  frames = 0;
  posts = 0;
  /** Most update posts that arrived within one animation frame. */
  maxPostsPerFrame = 0;
  private postsThisFrame = 0;
  private running = false;
  private inTask = false;
  private start = 0;
  private end = 0;
  private readonly longTasks: PerformanceEntry[] = [];
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => this.longTasks.push(...list.getEntries()));
    this.observer.observe({ type: 'longtask', buffered: false });
  }

  begin(): void {
    this.frames = 0;
    this.posts = 0;
    this.maxPostsPerFrame = 0;
    this.postsThisFrame = 0;
    this.running = true;
    this.start = performance.now();
    const tick = (): void => {
      if (!this.running) return;
      this.frames++;
      this.postsThisFrame = 0;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  /** Call from inside every delivery; counts one post per task. */
  sawDelivery(): void {
    if (this.inTask) return;
    this.inTask = true;
    if (!this.running) return void queueMicrotask(() => (this.inTask = false));
    this.posts++;
    this.maxPostsPerFrame = Math.max(this.maxPostsPerFrame, ++this.postsThisFrame);
    queueMicrotask(() => {
      this.inTask = false;
    });
  }

  stop(): void {
    this.running = false;
    this.end = performance.now();
  }

  /** Longest main-thread task overlapping the window (ms; 0 when none crossed 50 ms). Waits for the observer to deliver. */
  async longestTask(): Promise<number> {
    await new Promise((r) => setTimeout(r, 100));
    const overlapping = this.longTasks.filter((e) => e.startTime < this.end && e.startTime + e.duration > this.start);
    this.observer.disconnect();
    if (overlapping.length > 0) console.warn(`long tasks (start after begin, ms): ${overlapping.map((e) => `${(e.startTime - this.start).toFixed(0)}+${e.duration.toFixed(0)}`).join(', ')}`);
    return overlapping.reduce((m, e) => Math.max(m, e.duration), 0);
  }
}
