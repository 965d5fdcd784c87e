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
    worker: {
      format: 'es',
      // The root package.json declares our sources free of side effects; the peers' worker entry imports libWorker.ts for its side effect (it exposes the worker).
      plugins: () => [{ name: 'bench-lib-worker-side-effects', transform: (code: string, id: string) => (id.endsWith('/bench/browser/libWorker.ts') ? { code, moduleSideEffects: true } : null) }],
    },
    // One Dexie on the page: RxDB's Dexie storage (the peers workload) pins its own patch release, and two Dexies in one page throw.
    resolve: { dedupe: ['dexie'] },
  });
  return outDir;
}
