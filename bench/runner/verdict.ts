/**
 * Verdicts on a noisy machine (issue 14): every bar is judged on the ratios
 * of interleaved pairs (one raw run and one library run each). PASS or MISS
 * only when every pair falls on the same side of the bar; otherwise the
 * workload is `noisy` and the runner measures it again, a bounded number of
 * times. Results also go to a JSON file (`npm run bench -- --json FILE`).
 */
import { appendFileSync } from 'node:fs';
import os from 'node:os';

export type Verdict = 'PASS' | 'MISS' | 'noisy';

/** `most`: the ratio may be at most the bar (time ratios); `least`: at least the bar (rate ratios). */
export type BarKind = 'most' | 'least';

export interface Judged {
  /** Median of the pairs' ratios. */
  ratio: number;
  min: number;
  max: number;
  pairs: number;
  verdict: Verdict;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function judge(ratios: readonly number[], bar: number, kind: BarKind = 'most'): Judged {
  const ok = (r: number) => (kind === 'most' ? r <= bar : r >= bar);
  const passes = ratios.filter(ok).length;
  const verdict: Verdict = ratios.length === 0 ? 'noisy' : passes === ratios.length ? 'PASS' : passes === 0 ? 'MISS' : 'noisy';
  return { ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), pairs: ratios.length, verdict };
}

/** The 1-minute load average, as printed next to every ratio. */
export function load1(): number {
  return os.loadavg()[0] ?? NaN;
}

export const barText = (bar: number, kind: BarKind = 'most'): string => `${kind === 'most' ? '≤' : '≥'} ${bar}×`;

/** "1.42× (1.31-1.60, 3 pairs)". */
export function ratioText(j: Judged): string {
  return `${j.ratio.toFixed(2)}× (${j.min.toFixed(2)}-${j.max.toFixed(2)}, ${j.pairs} pair${j.pairs === 1 ? '' : 's'})`;
}

/** One line of the JSON results file. */
export interface BenchRecord {
  key: string;
  name: string;
  /** Median ratio of the pairs (library / raw for times; library rate / raw rate for rates). */
  ratio: number;
  spread: [number, number];
  pairs: number;
  bar: string;
  verdict: Verdict | 'not measured' | 'info';
  /** 1, 5, 15-minute load averages when the workload started. */
  load: number[];
  /** Attempts made (more than one when a noisy verdict was measured again). */
  attempts?: number;
  lib?: number;
  raw?: number;
  unit?: string;
  checks?: { label: string; value: string; bar: string; pass: boolean }[];
  note?: string;
}

/**
 * Node benchmarks run in their own process: they append their records to the
 * file named by BENCH_RESULTS (JSON lines), which the runner folds into its
 * JSON output. Without it nothing is written.
 */
export function recordResult(rec: BenchRecord): void {
  const file = process.env.BENCH_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(rec)}\n`);
}

export function loadNow(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * `pairs` interleaved pairs, numbered from 1: the raw ceiling first, then the
 * library, so both see the same machine state (run a warm-up pair 0 first).
 */
export async function interleavedPairs<L>(pairs: number, raw: (run: number) => number, lib: (run: number) => Promise<L>): Promise<{ raw: number[]; lib: L[] }> {
  const out = { raw: [] as number[], lib: [] as L[] };
  for (let i = 1; i <= pairs; i++) {
    out.raw.push(raw(i));
    out.lib.push(await lib(i));
  }
  return out;
}
