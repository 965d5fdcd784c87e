// Builds the demo PWA into demo/dist unless it is already newer than every
// source file it is made of (demo/, src/, worker/). Used by `npm start` and
// the end-to-end tests' global setup.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const demoDist = join(repo, 'demo', 'dist');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when demo/dist is missing or older than its sources. */
export function demoIsStale() {
  const index = join(demoDist, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = ['demo', 'src', 'worker'].map((d) => join(repo, d)).filter(existsSync);
  return sources.some((d) => newestMtime(d) > built);
}

/** Runs `vite build` with demo/vite.config.ts when needed. Returns the dist directory. */
export async function buildDemo({ force = false, quiet = false } = {}) {
  if (!force && !demoIsStale()) return demoDist;
  const { build } = await import('vite');
  await build({ configFile: join(repo, 'demo', 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
  return demoDist;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildDemo({ force: process.argv.includes('--force') });
}
