import type { ReadSyncDb } from '../db/ReadSyncDb';
import type { LeaderLock } from './LeaderLock';

/** The `meta` row holding the lease. */
export const LEASE_KEY = 'flush-lease';

/** Value of the lease row. */
export interface Lease {
  owner: string;
  /** Clock time after which anybody may take the lease over. */
  expiresAt: number;
}

export interface LeaseOptions {
  /** Lease lifetime; a crashed holder is replaced at most this long (plus one renewal period) later. Default 10 s. */
  ttlMs?: number;
  /** How often the holder renews and a waiter retries. Default ttl / 3. */
  renewMs?: number;
  now?: () => number;
  /** Owner id; random by default. */
  owner?: string;
}

/**
 * Leadership where `navigator.locks` is missing: a lease row in the `meta`
 * table with an owner and an expiry, read and written in one rw transaction
 * (IndexedDB serialises those across connections, so two contenders cannot
 * both win). The holder renews it on a timer; a waiter takes it over once it
 * has expired, so a worker that died without letting go blocks the others for
 * at most one lease lifetime. If a paused holder misses its renewal, two
 * flushers can briefly overlap; that costs duplicate requests, never
 * correctness, because acks and messages are idempotent on the server.
 */
export class LeaseLeaderLock implements LeaderLock {
  readonly owner: string;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly now: () => number;
  private held = false;
  /** Expiry of our own lease: past it we no longer count as leader, even before the next renewal. */
  private heldUntil = 0;
  private stopped = true;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private onChange: (leader: boolean) => void = () => {};

  constructor(
    private readonly db: ReadSyncDb,
    options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewMs = options.renewMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.now = options.now ?? (() => Date.now());
    this.owner = options.owner ?? `w${Math.random().toString(36).slice(2, 10)}${Math.random().toString(36).slice(2, 10)}`;
  }

  get leader(): boolean {
    return this.held && this.now() < this.heldUntil;
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    await this.tick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const wasLeader = this.held;
    this.setHeld(false);
    if (!wasLeader || !this.db.isOpen()) return;
    try {
      await this.db.transaction('rw', this.db.meta, async () => {
        const lease = (await this.db.meta.get(LEASE_KEY))?.value as Lease | undefined;
        if (lease?.owner === this.owner) await this.db.meta.delete(LEASE_KEY);
      });
    } catch {
      // The lease simply expires.
    }
  }

  /** Takes or renews the lease if it is free, expired or ours; then schedules the next try. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const wasLeader = this.leader;
    let won = false;
    try {
      won = await this.db.transaction('rw', this.db.meta, async () => {
        const lease = (await this.db.meta.get(LEASE_KEY))?.value as Lease | undefined;
        const t = this.now();
        if (lease && lease.owner !== this.owner && lease.expiresAt > t) return false;
        const next: Lease = { owner: this.owner, expiresAt: t + this.ttlMs };
        await this.db.meta.put({ key: LEASE_KEY, value: next });
        this.heldUntil = next.expiresAt;
        return true;
      });
    } catch {
      won = false;
      // A closed database (the worker is going away) ends the contest.
      if (!this.db.isOpen()) this.stopped = true;
    }
    if (this.stopped) {
      this.setHeld(false);
      return;
    }
    // A renewal after our own lease had lapsed (a long-blocked event loop) is a new term: say so, so the flusher resumes.
    if (won && this.held && !wasLeader) this.onChange(true);
    else this.setHeld(won);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, this.renewMs);
  }

  private setHeld(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    this.onChange(held);
  }
}
