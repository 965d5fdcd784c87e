import type { ReadSyncDb } from '../db/ReadSyncDb';
import { loadCounts, type SyncCounts } from './loadViews';

/** Shortest time between two loads of the counts while the store keeps changing. */
export const STATUS_COUNTS_INTERVAL_MS = 250;

/**
 * The counts of the sync status (pending and rejected items), reloaded at most
 * every `intervalMs` while the store keeps changing. Each count walks an index
 * range (IndexedDB counts by iterating), so with 10,000 messages pending and a
 * flush committing every few tens of ms, counting after every commit took
 * more of the database's time than the flush itself. A change after the last
 * load is never lost: the next load is due at most `intervalMs` later, and
 * `onDue` asks the hub to recompute then.
 */
export class StatusCounts {
  private counts: SyncCounts | null = null;
  private stale = true;
  private loadedAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due: Promise<void> | null = null;
  private fire: () => void = () => undefined;

  constructor(
    private readonly db: ReadSyncDb,
    private readonly onDue: () => void,
    private readonly intervalMs = STATUS_COUNTS_INTERVAL_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Stored items changed: the counts are out of date. */
  invalidate(): void {
    this.stale = true;
  }

  /**
   * The counts: loaded now if out of date and due (or never loaded); else the
   * last ones, with a reload scheduled for when it is due. Call inside a
   * read transaction over messages and outbox.
   */
  async get(): Promise<SyncCounts> {
    const since = this.now() - this.loadedAt;
    if (this.counts === null || (this.stale && since >= this.intervalMs)) {
      this.stale = false;
      this.loadedAt = this.now();
      this.counts = await loadCounts(this.db);
      return this.counts;
    }
    if (this.stale && this.timer === null) {
      this.due = new Promise<void>((resolve) => (this.fire = resolve));
      this.timer = setTimeout(() => {
        this.timer = null;
        this.fire();
        this.onDue();
      }, this.intervalMs - since);
    }
    return this.counts;
  }

  /** Resolves when the scheduled reload is due (at once when none is). */
  async whenDue(): Promise<void> {
    if (this.timer !== null) await this.due;
  }

  /** Whether a reload is scheduled. */
  get scheduled(): boolean {
    return this.timer !== null;
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.fire();
  }
}
