import type { Page } from 'playwright-core';
import type { WorkloadResult } from './report';
import type { BenchServer } from './startBenchServer';

/** Items per workload (acks, messages, subscriptions). */
export const N = 10_000;

/** One browser workload: what the runner calls with a fresh page. */
export interface Workload {
  key: string;
  name: string;
  /** Longest this workload may take (ms) before it is reported as not measured; default BENCH_WORKLOAD_TIMEOUT_MS. */
  timeoutMs?: number;
  run(page: Page, server: BenchServer): Promise<WorkloadResult>;
}

/**
 * One warm-up pair, then `reps` pairs, raw and library interleaved so that
 * drift (disk, thermal, GC) hits both sides alike. Returns all measured runs.
 */
export async function pairs<R, L>(reps: number, raw: (rep: string) => Promise<R>, lib: (rep: string) => Promise<L>): Promise<{ raw: R[]; lib: L[] }> {
  await raw('w0');
  await lib('w0');
  const out = { raw: [] as R[], lib: [] as L[] };
  for (let i = 1; i <= reps; i++) {
    out.raw.push(await raw(`r${i}`));
    out.lib.push(await lib(`r${i}`));
  }
  return out;
}
