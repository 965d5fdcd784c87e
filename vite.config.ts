import { defineConfig, type ViteUserConfig } from 'vitest/config';

// Two builds from one config (`npm run build` runs both):
// - the browser library: the UI-thread entry, the worker entry (apps load it
//   as a module Worker) and readsync/react, as separate chunks sharing one
//   chunk of client code;
// - `--ssr`: the reference server for Node (`readsync/server` and the
//   `readsync-server` command), dependencies left external. Its entries are
//   src/server/entry/*: they check the server's optional peer packages are
//   installed before loading the server itself (a chunk of its own).
// The demo has its own config (demo/vite.config.ts).
const test: ViteUserConfig['test'] = {
  include: ['test/**/*.test.ts'],
  environment: 'node',
  testTimeout: 30_000,
  hookTimeout: 120_000,
  pool: 'forks',
};

export default defineConfig(({ isSsrBuild }) =>
  isSsrBuild
    ? {
        build: {
          outDir: 'dist/server',
          sourcemap: true,
          target: 'node20',
          rollupOptions: { input: { index: 'src/server/entry/index.ts', cli: 'src/server/entry/bin.ts' }, output: { format: 'es' } },
        },
        test,
      }
    : {
        build: {
          outDir: 'dist/lib',
          sourcemap: true,
          lib: { entry: { index: 'src/index.ts', worker: 'worker/index.ts', react: 'src/react/index.ts' }, formats: ['es'] },
          // React is an optional peer (only readsync/react imports it); the rest are dependencies.
          rollupOptions: { external: ['dexie', 'rxjs', 'comlink', 'valibot', 'react', /^react\//] },
        },
        test,
      },
);
