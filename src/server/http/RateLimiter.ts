/** Options of the per-user request rate limit. */
export interface RateLimitOptions {
  /** Sustained requests per second per user. */
  perSecond: number;
  /** Requests allowed in a burst (bucket size). Default 2 × perSecond. */
  burst?: number;
  now?: () => number;
}

/**
 * A token bucket per key (user). `take` spends one token, or says how long
 * to wait for the next one: the server answers 429 with that as Retry-After,
 * and clients (HttpTransport → the outbox) wait at least that long.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(options: RateLimitOptions) {
    if (!(options.perSecond > 0)) throw new Error('rateLimit.perSecond must be positive');
    this.rate = options.perSecond / 1000;
    this.burst = Math.max(1, options.burst ?? options.perSecond * 2);
    this.now = options.now ?? Date.now;
  }

  /** 0 if the request may proceed, else the ms until it may. */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.forgetIdle(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.rate);
  }

  /** Drops buckets that have refilled: they behave exactly like new ones. */
  private forgetIdle(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.rate >= this.burst) this.buckets.delete(k);
  }
}
