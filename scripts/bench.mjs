#!/usr/bin/env node
// `npm run bench`: runs bench/run.ts under tsx (the runner imports the
// TypeScript server and builds the browser page with Vite). Benchmarks are a
// report, not a test: the exit code is non-zero only when the harness fails.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'run.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'production' },
});
process.exit(res.status ?? 1);
