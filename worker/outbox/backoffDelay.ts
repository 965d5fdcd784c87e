/**
 * Exponential backoff with full jitter: after the `attempt`-th consecutive
 * failure (1-based) wait a uniformly random time in [0, min(max, base·2^(attempt-1))).
 * Full jitter spreads the retries of many clients that failed together (a
 * server restart) instead of having them come back in lockstep. A server's
 * `Retry-After` is a floor on top of that.
 */
export function backoffDelay(attempt: number, options: { baseMs: number; maxMs: number; random: () => number; retryAfterMs?: number }): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(options.random() * ceiling);
  return Math.max(jittered, options.retryAfterMs ?? 0);
}
