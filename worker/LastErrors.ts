import type { ErrorPayload } from '../src/protocol';

/**
 * The kinds of work whose failures `syncStatus$.lastError` shows: the
 * flusher's sends, the sync engine's catch-up (config, pulls, receipt
 * refresh, event stream), and requests made on demand (receipt queries,
 * member pages, older messages).
 */
export type WorkKind = 'flush' | 'sync' | 'query';

/**
 * The latest failure of each kind of work. A success of a kind clears that
 * kind's failure only: a 429 on a receipt query stays visible until a receipt
 * query succeeds, however well the flusher does meanwhile, and vanishes then
 * even if the event stream never reconnects. `current()` is the most recent
 * failure still standing.
 */
export class LastErrors {
  private readonly byKind = new Map<WorkKind, { error: ErrorPayload; n: number }>();
  private n = 0;

  /** Records a failure; returns whether anything changed. */
  fail(kind: WorkKind, error: ErrorPayload): boolean {
    if (this.byKind.get(kind)?.error === error) return false;
    this.byKind.set(kind, { error, n: ++this.n });
    return true;
  }

  /** A success of `kind`: its failure is over. Returns whether anything changed. */
  succeed(kind: WorkKind): boolean {
    return this.byKind.delete(kind);
  }

  /** Forgets every failure (e.g. the user cleared rejected items). */
  clear(): void {
    this.byKind.clear();
  }

  /** The most recent failure still standing, or null. */
  current(): ErrorPayload | null {
    let best: { error: ErrorPayload; n: number } | null = null;
    for (const e of this.byKind.values()) if (best === null || e.n > best.n) best = e;
    return best?.error ?? null;
  }
}
