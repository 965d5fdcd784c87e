import type { ReadSyncDb } from '../db/ReadSyncDb';
import { LeaseLeaderLock } from './LeaseLeaderLock';
import { WebLocksLeaderLock, type LockManagerLike } from './WebLocksLeaderLock';

/**
 * Leadership among the workers (one per tab) that share one database: exactly
 * one of them flushes the outbox at a time. Duplicated flushes would still be
 * harmless (acks are idempotent, messages carry their id), but one flusher
 * keeps requests down and per-conversation message order simple.
 */
export interface LeaderLock {
  /**
   * Starts competing for leadership. Resolves after the first attempt (won or
   * queued); `onChange` is called every time leadership is won or lost.
   */
  start(onChange: (leader: boolean) => void): Promise<void>;
  /** Gives leadership up if held and stops competing. */
  stop(): Promise<void>;
  /** Whether this instance is the leader right now. */
  readonly leader: boolean;
}

/** The lock name shared by every worker of one database. */
export function leaderLockName(db: ReadSyncDb): string {
  return `readsync-flush:${db.name}`;
}

/**
 * Web Locks where the platform has them (browsers, workers included: a lock
 * dies with its worker), otherwise a lease row in the `meta` table (Node,
 * old browsers), which a crashed holder loses when it expires.
 */
export function createLeaderLock(db: ReadSyncDb, options: { now?: () => number; locks?: LockManagerLike | null } = {}): LeaderLock {
  const locks = options.locks !== undefined ? options.locks : (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks) return new WebLocksLeaderLock(locks, leaderLockName(db));
  return new LeaseLeaderLock(db, options.now ? { now: options.now } : {});
}
