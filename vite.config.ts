import { defineConfig } from 'vitest/config';

// Library build: the UI-thread entry and the worker entry are separate chunks,
// so apps load the worker with `new Worker(new URL('readsync/worker', import.meta.url), { type: 'module' })`.
// The demo has its own config (demo/vite.config.ts); the server is built by tsc/tsx (Node only).
export default defineConfig({
  build: {
    outDir: 'dist/lib',
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', worker: 'worker/index.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      external: ['dexie', 'rxjs', 'comlink', 'valibot'],
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
