/**
 * l. Single receipt latency (issue 14, SPEC §5 "one receipt arriving at the
 * worker"): 10,000 live readState$, then 100 single receipts delivered to
 * the worker one at a time through its transport's event stream, each
 * awaited until its subscriber has seen it. Per receipt: arrival at the
 * worker → the subscriber's callback on the page (one epoch clock on both
 * sides). Absolute bars, no raw ceiling: median ≤ 1 ms and p99 ≤ one frame
 * (16.7 ms). The verdict is on each run's median (PASS or MISS only when
 * every run agrees); the p99 check takes the worst run.
 */
import { median } from './report';
import { N, type Workload } from './workload';

/** Measured runs after one warm-up (BENCH_REPS overrides; at most 5). */
const REPS = Math.min(Number(process.env.BENCH_REPS ?? 3), 5);
/** Single receipts per run. */
const COUNT = 100;
const FRAME_MS = 16.7;
/** TanStack DB (IndexedDB collection) in the peers run of issue 14: 100 awaited updates at 10,000 subscriptions. */
const TANSTACK_TRICKLE_MS = 385;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

export const latency: Workload = {
  key: 'latency',
  name: `l. 1 receipt → subscriber, ${N.toLocaleString('en-US')} readState$`,
  async run(page) {
    await page.evaluate(([t, n, c]) => window.bench.libLatency(t, n, c), ['lw0', N, COUNT] as const);
    const runs = [];
    for (let i = 1; i <= REPS; i++) runs.push(await page.evaluate(([t, n, c]) => window.bench.libLatency(t, n, c), [`l${i}`, N, COUNT] as const));
    const medians = runs.map((r) => median(r.latencies));
    const p99s = runs.map((r) => percentile(r.latencies, 99));
    const maxes = runs.map((r) => Math.max(...r.latencies));
    const p99 = Math.max(...p99s);
    const trickle = median(runs.map((r) => r.trickleMs));
    return {
      name: this.name,
      absolute: true,
      lib: median(medians),
      raw: NaN,
      ratios: medians,
      bar: 1,
      checks: [
        { label: `p99 latency, worst of ${REPS} runs (${p99s.map((x) => x.toFixed(1)).join(' / ')})`, value: `${p99.toFixed(1)} ms`, bar: `≤ ${FRAME_MS} ms`, pass: p99 <= FRAME_MS },
        { label: 'info: slowest single receipt', value: `${Math.max(...maxes).toFixed(1)} ms`, bar: '—', pass: true },
        { label: `info: trickle of ${COUNT} awaited (TanStack DB ${TANSTACK_TRICKLE_MS} ms)`, value: `${trickle.toFixed(0)} ms`, bar: '—', pass: true },
        { label: `info: ${N.toLocaleString('en-US')} subscribe → first values`, value: `${median(runs.map((r) => r.subscribeMs)).toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};
