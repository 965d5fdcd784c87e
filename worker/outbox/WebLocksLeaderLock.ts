import type { LeaderLock } from './LeaderLock';

/** The part of `navigator.locks` we use (so tests can pass a fake). */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}

/**
 * Leadership through the Web Locks API: the lock is held for as long as this
 * worker wants it, and the browser releases it when the worker dies, so a
 * crashed tab never blocks the others. Waiters queue in the browser; the next
 * one is granted the lock the moment the holder lets go.
 */
export class WebLocksLeaderLock implements LeaderLock {
  private held = false;
  private stopped = false;
  private abort: AbortController | null = null;
  private release: (() => void) | null = null;
  private onChange: (leader: boolean) => void = () => {};

  constructor(
    private readonly locks: LockManagerLike,
    private readonly name: string,
  ) {}

  get leader(): boolean {
    return this.held;
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    // First a non-blocking try, so start() can report the outcome; if taken, queue up.
    await new Promise<void>((started) => {
      this.locks
        .request(this.name, { ifAvailable: true }, (lock) => {
          if (!lock) {
            started();
            if (!this.stopped) this.queue();
            return undefined;
          }
          const held = this.hold();
          started();
          return held; // the lock stays ours until this settles
        })
        .catch(() => started());
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.abort = null;
    this.release?.();
    this.release = null;
    this.setHeld(false);
  }

  /** Holds the lock granted to the current callback until stop(). */
  private hold(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.setHeld(true);
    return new Promise<void>((resolve) => {
      this.release = resolve;
    });
  }

  private queue(): void {
    this.abort = new AbortController();
    this.locks
      .request(this.name, { signal: this.abort.signal }, () => this.hold())
      .catch(() => {
        // AbortError after stop(): nothing to do.
      });
  }

  private setHeld(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    this.onChange(held);
  }
}
