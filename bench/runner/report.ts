import { barText, judge, median, ratioText, type Judged, type Verdict } from './verdict';

export { median };

/** One printed workload line: library figure vs the raw ceiling measured in the same run. */
export interface WorkloadResult {
  name: string;
  /** Library time (ms), median of the pairs. */
  lib: number;
  /** Raw ceiling time (ms), median of the pairs. */
  raw: number;
  /** Max allowed lib/raw. */
  bar: number;
  /** lib/raw of each interleaved pair; the verdict needs them all on one side of the bar. */
  ratios?: number[];
  /** Extra checks printed under the line (e.g. requests, bytes per ack). */
  checks?: { label: string; value: string; bar: string; pass: boolean }[];
  /** Set when the workload could not run (missing part, error). */
  skipped?: string;
  /**
   * An absolute bar in ms, no raw ceiling (single receipt latency): `ratios`
   * then holds each run's figure in ms, judged against `bar` ms.
   */
  absolute?: boolean;
}

type Check = NonNullable<WorkloadResult['checks']>[number];

/** What MainThreadMeter saw of one burst on the page. */
export interface MainThreadRun {
  maxPostsPerFrame: number;
  longestTaskMs: number;
}

/**
 * SPEC §5's main-thread checks of a burst, over the worst of the library's
 * runs: at most one update post per animation frame, no task over 50 ms.
 */
export function mainThreadChecks(lib: readonly MainThreadRun[], postsLabel: string, taskLabel: string): Check[] {
  const posts = Math.max(...lib.map((x) => x.maxPostsPerFrame));
  const longest = Math.max(...lib.map((x) => x.longestTaskMs));
  return [
    { label: postsLabel, value: String(posts), bar: '≤ 1', pass: posts <= 1 },
    { label: taskLabel, value: `${longest.toFixed(0)} ms`, bar: '≤ 50 ms', pass: longest <= 50 },
  ];
}

/** Medians of each side plus each pair's ratio, from interleaved pairs. */
export function fromPairs(raw: readonly number[], lib: readonly number[]): { lib: number; raw: number; ratios: number[] } {
  return { lib: median(lib), raw: median(raw), ratios: lib.map((l, i) => l / (raw[i] as number)) };
}

/** The bar's verdict from the pairs, then the checks: a missed check is a MISS whatever the ratio says. */
export function verdictOf(r: WorkloadResult): Judged & { overall: Verdict } {
  const j = judge(r.ratios ?? [r.lib / r.raw], r.bar);
  const checksPass = (r.checks ?? []).every((c) => c.pass);
  return { ...j, overall: !checksPass ? 'MISS' : j.verdict };
}

const fmt = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

export function formatResult(r: WorkloadResult, load?: number): string[] {
  if (r.skipped !== undefined) return [`${r.name.padEnd(44)} NOT MEASURED: ${r.skipped}`];
  const v = verdictOf(r);
  const loadText = load === undefined ? '' : `  load ${load.toFixed(2)}`;
  const fine = (ms: number): string => (ms < 10 ? `${ms.toFixed(2)} ms` : fmt(ms));
  const head = r.absolute
    ? `${r.name.padEnd(44)} lib ${fine(r.lib).padStart(9)}  (runs ${fine(v.min)}-${fine(v.max)}, ${v.pairs})  bar ≤ ${r.bar} ms  ${v.verdict}${loadText}`
    : undefined;
  const lines = head ? [head] : [`${r.name.padEnd(44)} lib ${fmt(r.lib).padStart(9)}  raw ${fmt(r.raw).padStart(9)}  ratio ${ratioText(v)}  bar ${barText(r.bar)}  ${v.verdict}${loadText}`];
  for (const c of r.checks ?? []) {
    const verdict = c.bar === '—' ? '' : `  bar ${c.bar}  ${c.pass ? 'PASS' : 'MISS'}`;
    lines.push(`  ${c.label.padEnd(42)} ${c.value.padStart(12)}${verdict}`);
  }
  if (v.overall === 'MISS' && v.verdict !== 'MISS') lines.push(`  => ${r.name}: MISS (a check above missed its bar)`);
  return lines;
}
