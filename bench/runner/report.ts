/** One printed workload line: library figure vs the raw ceiling measured in the same run. */
export interface WorkloadResult {
  name: string;
  /** Library time (ms). */
  lib: number;
  /** Raw ceiling time (ms). */
  raw: number;
  /** Max allowed lib/raw. */
  bar: number;
  /** Extra checks printed under the line (e.g. requests, bytes per ack). */
  checks?: { label: string; value: string; bar: string; pass: boolean }[];
  /** Set when the workload could not run (missing part, error). */
  skipped?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

export function formatResult(r: WorkloadResult): string[] {
  if (r.skipped !== undefined) return [`${r.name.padEnd(44)} NOT MEASURED: ${r.skipped}`];
  const ratio = r.lib / r.raw;
  const pass = ratio <= r.bar && (r.checks ?? []).every((c) => c.pass);
  const lines = [
    `${r.name.padEnd(44)} lib ${fmt(r.lib).padStart(9)}  raw ${fmt(r.raw).padStart(9)}  ratio ${ratio.toFixed(2)}×  bar ≤ ${r.bar}×  ${ratio <= r.bar ? 'PASS' : 'MISS'}`,
  ];
  for (const c of r.checks ?? []) {
    const verdict = c.bar === '—' ? '' : `  bar ${c.bar}  ${c.pass ? 'PASS' : 'MISS'}`;
    lines.push(`  ${c.label.padEnd(42)} ${c.value.padStart(12)}${verdict}`);
  }
  if (!pass && ratio <= r.bar) lines.push(`  => ${r.name}: MISS (a check above missed its bar)`);
  return lines;
}
