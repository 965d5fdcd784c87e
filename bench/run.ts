/**
 * `npm run bench`: builds the bench page, serves it (with the reference
 * server when available), drives it in headless Chromium and prints each
 * library figure as a ratio against the raw ceiling measured in the same run
 * (SPEC §5). Exit code 0 even on MISS; non-zero only if the harness fails.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildPage } from './runner/buildPage';
import { formatResult, type WorkloadResult } from './runner/report';
import { startBenchServer } from './runner/startBenchServer';
import { WORKLOADS } from './runner/workloads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);

/** Node-only workloads: each a script run in its own process, its lines printed as they are. */
const NODE_BENCHES: { key: string; file: string; what: string; timeoutMs: number }[] = [
  { key: 'server', file: 'server.bench.ts', what: 'server workloads (ingest, member page)', timeoutMs: 240_000 },
  { key: 'sockets', file: 'load/pausedSockets.bench.ts', what: 'paused sockets (server memory)', timeoutMs: 180_000 },
  { key: 'load', file: 'load/busyClients.bench.ts', what: 'busy clients (server under load)', timeoutMs: 180_000 },
  { key: 'postgres', file: 'postgres.bench.ts', what: 'PostgreSQL: ingest through 1/2/3 nodes, fan-out across nodes', timeoutMs: 600_000 },
];

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`readsync benchmarks — ${new Date().toISOString()}`);
  const browserWanted = only.length === 0 || WORKLOADS.some((w) => only.includes(w.key));
  if (browserWanted) await runBrowserWorkloads();
  for (const b of NODE_BENCHES) if (only.length === 0 || only.includes(b.key)) runNodeBench(b);
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
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
      const t0 = Date.now();
      // A fresh browser context per workload: its own IndexedDB, and a hung workload cannot hold up the next one.
      const context = await browser.newContext();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let r: WorkloadResult;
      try {
        const page = await openPage(context, server.url);
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${WORKLOAD_TIMEOUT_MS / 1000} s`)), WORKLOAD_TIMEOUT_MS);
        });
        r = await Promise.race([w.run(page, server), timeout]);
      } catch (err) {
        r = { name: w.name, lib: 0, raw: 0, bar: 0, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
      } finally {
        clearTimeout(timer);
        await context.close().catch(() => undefined);
      }
      results.push(r);
      for (const line of formatResult(r)) console.log(line);
      if (process.env.BENCH_VERBOSE) console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await browser.close();
    await server.close();
    await rm(outDir, { recursive: true, force: true });
  }
  const measured = results.filter((r) => r.skipped === undefined);
  const passed = measured.filter((r) => r.lib / r.raw <= r.bar && (r.checks ?? []).every((c) => c.pass));
  console.log(`\nbrowser workloads: ${passed.length} PASS, ${measured.length - passed.length} MISS, ${results.length - measured.length} not measured\n`);
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
function runNodeBench(b: (typeof NODE_BENCHES)[number]): void {
  const file = path.join(root, 'bench', b.file);
  if (!existsSync(file)) {
    console.log(`${b.what.padEnd(44)} NOT MEASURED: bench/${b.file} does not exist yet`);
    return;
  }
  const res = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: b.timeoutMs });
  process.stdout.write(res.stdout ?? '');
  if (res.status !== 0) console.log(`bench/${b.file} exited with ${res.status ?? res.signal}: ${(res.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}

main().catch((err: unknown) => {
  console.error('bench harness failed:', err);
  process.exit(1);
});
