/**
 * Seeded random schedules on one server: see randomScheduleRun.ts for what
 * each schedule does and checks. READSYNC_SEEDS=n changes the number of
 * seeds; READSYNC_SEED=k runs one.
 */
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { useFakeClock } from './harness';
import { runSchedule } from './randomScheduleRun';

const SEEDS = Number(process.env.READSYNC_SEEDS ?? 300);
const ONLY = process.env.READSYNC_SEED;
const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => i + 1);

describe('random schedules: every read reaches the server exactly once, kept as it was made', () => {
  beforeEach(() => useFakeClock());
  afterEach(() => vi.useRealTimers());

  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      await runSchedule(seed);
    });
  }

});
