/**
 * `npm run bench`: builds the bench page, serves it (with the reference
 * server when available), drives it in headless Chromium and prints each
 * library figure as a ratio against the raw ceiling measured in the same run
 * (SPEC §5). Exit code 0 even on MISS; non-zero only if the harness fails.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildPage } from './runner/buildPage';
import { formatResult, verdictOf, type WorkloadResult } from './runner/report';
import { barText, loadNow, type BenchRecord } from './runner/verdict';
import { startBenchServer, type BenchServer } from './runner/startBenchServer';
import { WORKLOADS, type Workload } from './runner/workloads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
/** `--json FILE`: per workload the median ratio, spread, bar, verdict and load, as one JSON document. */
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) throw new Error('--json needs a file name');
const only = args.filter((_, i) => jsonAt < 0 || (i !== jsonAt && i !== jsonAt + 1));
/** How many times a workload whose pairs disagree is measured again before it is left `noisy`. */
const NOISY_RERUNS = Number(process.env.BENCH_NOISY_RERUNS ?? 1);
const records: BenchRecord[] = [];

/** Node-only workloads: each a script run in its own process, its lines printed as they are. */
const NODE_BENCHES: { key: string; file: string; what: string; timeoutMs: number }[] = [
  { key: 'server', file: 'server.bench.ts', what: 'server workloads (ingest, member page)', timeoutMs: 900_000 },
  { key: 'sockets', file: 'load/pausedSockets.bench.ts', what: 'paused sockets (server memory)', timeoutMs: 180_000 },
  { key: 'load', file: 'load/busyClients.bench.ts', what: 'busy clients (server under load)', timeoutMs: 180_000 },
  { key: 'postgres', file: 'postgres.bench.ts', what: 'PostgreSQL: ingest through 1/2/3 nodes, fan-out across nodes', timeoutMs: 600_000 },
  { key: 'watermark', file: 'watermark.bench.ts', what: 'a read position over 10,000 messages (server)', timeoutMs: 300_000 },
  { key: 'delivery', file: 'delivery.bench.ts', what: 'delivery: a range of 10,000 messages, and members of a 100,000-member group (server)', timeoutMs: 600_000 },
];

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`readsync benchmarks — ${new Date().toISOString()}`);
  const browserWanted = only.length === 0 || WORKLOADS.some((w) => only.includes(w.key));
  console.log(`load average ${loadNow().join(', ')} (1, 5, 15 min) on ${os.cpus().length} cores: ratios below are pairs of raw and library runs, interleaved`);
  if (browserWanted) await runBrowserWorkloads();
  const nodeWanted = NODE_BENCHES.filter((b) => only.length === 0 || only.includes(b.key));
  if (nodeWanted.length > 0) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'readsync-bench-results-'));
    try {
      for (const b of nodeWanted) runNodeBench(b, path.join(dir, `${b.key}.jsonl`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (jsonFile) {
    writeFileSync(jsonFile, `${JSON.stringify({ startedAt: new Date(started).toISOString(), cpus: os.cpus().length, loadEnd: loadNow(), workloads: records }, null, 2)}\n`);
    console.log(`results: ${jsonFile}`);
  }
}

async function runBrowserWorkloads(): Promise<void> {
  const outDir = await buildPage(root);
  const server = await startBenchServer(outDir);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results: WorkloadResult[] = [];
  try {
    console.log(`page ${server.url} (reference server); chromium ${browser.version()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}\n`);
    for (const w of WORKLOADS) {
      if (only.length > 0 && !only.includes(w.key)) continue;
      // A workload whose pairs disagree (noisy) is measured again, up to NOISY_RERUNS times.
      for (let attempt = 1; ; attempt++) {
        const t0 = Date.now();
        const load = loadNow();
        // A rerun gets a fresh reference server: the workloads seed fixed conversation ids.
        const fresh = attempt === 1 ? server : await startBenchServer(outDir);
        const r = await runOne(browser, fresh, w).finally(() => (fresh === server ? undefined : fresh.close()));
        for (const line of formatResult(r, load[0])) console.log(line);
        if (process.env.BENCH_VERBOSE) console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        const v = r.skipped === undefined ? verdictOf(r) : undefined;
        if (v?.overall === 'noisy' && attempt <= NOISY_RERUNS) {
          console.log(`  => the pairs disagree: measuring ${w.key} again (${attempt}/${NOISY_RERUNS})`);
          continue;
        }
        results.push(r);
        records.push(
          v === undefined
            ? { key: w.key, name: r.name, ratio: NaN, spread: [NaN, NaN], pairs: 0, bar: barText(r.bar), verdict: 'not measured', load, attempts: attempt, note: r.skipped }
            : { key: w.key, name: r.name, ratio: v.ratio, spread: [v.min, v.max], pairs: v.pairs, bar: r.absolute ? `≤ ${r.bar} ms` : barText(r.bar), verdict: v.overall, load, attempts: attempt, lib: r.lib, raw: r.raw, unit: 'ms', checks: r.checks },
        );
        // A workload may add records of its own (the peers: one per figure and per run).
        records.push(...((r as { records?: BenchRecord[] }).records ?? []));
        break;
      }
    }
  } finally {
    await browser.close();
    await server.close();
    await rm(outDir, { recursive: true, force: true });
  }
  const verdicts = results.filter((r) => r.skipped === undefined).map((r) => verdictOf(r).overall);
  const count = (v: string) => verdicts.filter((x) => x === v).length;
  console.log(`\nbrowser workloads: ${count('PASS')} PASS, ${count('MISS')} MISS, ${count('noisy')} noisy, ${results.length - verdicts.length} not measured\n`);
}

/** One attempt at a workload in a fresh browser context (its own IndexedDB; a hung workload cannot hold up the next one). */
async function runOne(browser: Browser, server: BenchServer, w: Workload): Promise<WorkloadResult> {
  const context = await browser.newContext();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const page = await openPage(context, server.url);
    const limit = process.env.BENCH_WORKLOAD_TIMEOUT_MS ? WORKLOAD_TIMEOUT_MS : (w.timeoutMs ?? WORKLOAD_TIMEOUT_MS);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${limit / 1000} s`)), limit);
    });
    return await Promise.race([w.run(page, server), timeout]);
  } catch (err) {
    return { name: w.name, lib: 0, raw: 0, bar: 0, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => undefined);
  }
}

/** Longest a single workload may take before it is reported as not measured. */
const WORKLOAD_TIMEOUT_MS = Number(process.env.BENCH_WORKLOAD_TIMEOUT_MS ?? 240_000);

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || (process.env.BENCH_VERBOSE && m.type() === 'warning')) console.error(`[page ${m.type()}] ${m.text()}`);
  });
  await page.goto(`${url}/index.html`);
  await page.waitForFunction(() => document.title === 'bench ready', undefined, { timeout: 30_000 });
  return page;
}

/**
 * e./f. (bench/server.bench.ts, owned by the server's author) and the load
 * benchmarks (bench/load/): each runs under tsx in its own process, its
 * lines printed as they are.
 */
function runNodeBench(b: (typeof NODE_BENCHES)[number], resultsFile: string): void {
  const file = path.join(root, 'bench', b.file);
  if (!existsSync(file)) {
    console.log(`${b.what.padEnd(44)} NOT MEASURED: bench/${b.file} does not exist yet`);
    return;
  }
  console.log(`\n== ${b.key}: ${b.what} (load average ${loadNow().join(', ')})`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: b.timeoutMs, env: { ...process.env, BENCH_RESULTS: resultsFile } });
  process.stdout.write(res.stdout ?? '');
  if (res.status !== 0) console.log(`bench/${b.file} exited with ${res.status ?? res.signal}: ${(res.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  // Records the bench wrote (JSON lines; benches that write none are printed only).
  if (existsSync(resultsFile)) {
    for (const line of readFileSync(resultsFile, 'utf8').split('\n')) if (line.trim()) records.push(JSON.parse(line) as BenchRecord);
  }
}

main().catch((err: unknown) => {
  console.error('bench harness failed:', err);
  process.exit(1);
});
