/**
 * c-scale. Does the burst from the server cost the same per subscriber at
 * 50,000 subscriptions as at 1,000 (issue 14: bar ≤ 1.2×)? The library side
 * of workload c (another user's acks through the reference server, receipts
 * over the WebSocket, until every subscriber shows its new read count) at
 * both sizes, in interleaved pairs: the 1,000 run takes the place of the
 * "raw" side, so each pair's ratio is ms per item at 50,000 over ms per item
 * at 1,000. The main-thread checks apply to the 50,000 runs.
 */
import { fromPairs, mainThreadChecks, median } from './report';
import type { BenchServer } from './startBenchServer';
import { ackAll, seed } from './socketBurstWorkload';
import { pairs, type Workload } from './workload';

/** Measured pairs after one warm-up pair (BENCH_SCALE_REPS overrides; at most 4). */
const REPS = Math.min(Number(process.env.BENCH_SCALE_REPS ?? 2), 4);
const SMALL = 1_000;
/** BENCH_SCALE_N for short runs while developing. */
const LARGE = Number(process.env.BENCH_SCALE_N ?? 50_000);

interface Run {
  /** ms per 1,000 subscribers updated. */
  perThousandMs: number;
  ms: number;
  longestTaskMs: number;
  maxPostsPerFrame: number;
}

async function burstOnce(page: Parameters<Workload['run']>[0], server: BenchServer, side: string, rep: string, n: number): Promise<Run> {
  const s = await seed(server, side, rep, n);
  await page.evaluate(([t, u, token, c, m]) => window.bench.libSocketBurstOpen(t, u, token, c, m), [`${side}${rep}`, s.sender, server.token(s.sender), s.convId, s.messages] as const);
  try {
    await page.evaluate(() => window.bench.socketBurstArm(1));
    const waiting = page.evaluate(() => window.bench.socketBurstWait());
    const t0 = await ackAll(server, s);
    const w = await waiting;
    const ms = w.lastAt - t0;
    return { ms, perThousandMs: (ms / n) * 1000, longestTaskMs: w.longestTaskMs, maxPostsPerFrame: w.maxPostsPerFrame };
  } finally {
    await page.evaluate(() => window.bench.socketBurstClose());
  }
}

export const burstScale: Workload = {
  key: 'burst-scale',
  name: `c-scale. burst per 1,000: ${LARGE.toLocaleString('en-US')} vs ${SMALL.toLocaleString('en-US')}`,
  // Three runs of 50,000 messages seeded on the server, stored and subscribed in the page.
  timeoutMs: 1_800_000,
  async run(page, server) {
    const r = await pairs(
      REPS,
      (rep) => burstOnce(page, server, 'sa', rep, SMALL),
      (rep) => burstOnce(page, server, 'sb', rep, LARGE),
    );
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.perThousandMs),
        r.lib.map((x) => x.perThousandMs),
      ),
      bar: 1.2,
      checks: [
        ...mainThreadChecks(
          r.lib,
          `most update posts in one frame at ${LARGE.toLocaleString('en-US')}`,
          `longest main-thread task at ${LARGE.toLocaleString('en-US')} (${SMALL.toLocaleString('en-US')}: ${Math.max(...r.raw.map((x) => x.longestTaskMs)).toFixed(0)} ms)`,
        ),
        { label: 'info: whole burst, median', value: `${median(r.lib.map((x) => x.ms)).toFixed(0)} / ${median(r.raw.map((x) => x.ms)).toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};
