import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';

/** Builds bench/browser (page + workers) with Vite into a fresh temp folder; returns that folder. */
export async function buildPage(root: string): Promise<string> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'readsync-bench-'));
  await build({
    configFile: false,
    root: path.join(root, 'bench', 'browser'),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
    worker: { format: 'es' },
  });
  return outDir;
}
