/**
 * The seeded random schedules of randomScheduleRun.ts against a server of
 * three nodes on one store: every request goes to a node picked by the seed,
 * and nodes crash right after applying a request (the reply is lost, the
 * node comes back with cold caches), on top of every client-side fault.
 * Nothing is lost and nothing is counted twice. READSYNC_CLUSTER_SEEDS=n
 * changes the number of seeds (100 by default); READSYNC_SEED=k runs one.
 */
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { useFakeClock } from './harness';
import { runSchedule } from './randomScheduleRun';

const SEEDS = Number(process.env.READSYNC_CLUSTER_SEEDS ?? 100);
const ONLY = process.env.READSYNC_SEED;
const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => i + 1);

describe('random schedules on three nodes with node crashes: every read reaches the server exactly once, kept as it was made', () => {
  beforeEach(() => useFakeClock());
  afterEach(() => vi.useRealTimers());

  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      await runSchedule(seed, { nodes: 3 });
    });
  }
});
