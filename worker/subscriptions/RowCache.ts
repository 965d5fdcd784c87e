/**
 * Rows of one table this worker has seen lately (stored or read), by key, so
 * a new subscription to a message the worker just stored or showed gets its
 * first value from memory instead of an IndexedDB read (10,000 new
 * `readState$` cost 0.5-1 s of reads otherwise). `undefined` is cached too:
 * "no such row" (e.g. no receipt yet) is an answer.
 *
 * Kept true by the subscription hub the way its live values are: a change
 * notification of a key drops it, one of the whole table drops everything,
 * and a row is only put when nothing changed its table since it was read
 * (reads) or when its own write's notification has arrived (writes). Bounded:
 * past `max` rows the oldest go first.
 */
export class RowCache {
  private readonly rows = new Map<string, unknown>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.rows.size;
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  get(key: string): unknown {
    return this.rows.get(key);
  }

  set(key: string, row: unknown): void {
    // Re-inserted at the end: the Map's order is the eviction order (oldest first).
    this.rows.delete(key);
    this.rows.set(key, row);
    if (this.rows.size > this.max) {
      for (const k of this.rows.keys()) {
        this.rows.delete(k);
        if (this.rows.size <= this.max) break;
      }
    }
  }

  delete(key: string): void {
    this.rows.delete(key);
  }

  clear(): void {
    this.rows.clear();
  }
}
