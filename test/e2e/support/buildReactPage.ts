import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds the React e2e page (test/e2e/react) with Vite into a temp dir; returns the dir, for `new DemoServer(dir)`. */
export async function buildReactPage(): Promise<string> {
  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'readsync-react-page-'));
  await build({
    configFile: false,
    root: fileURLToPath(new URL('../react', import.meta.url)),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: true },
    worker: { format: 'es' },
    // React's development build: only it runs StrictMode's double render and double effects.
    define: { 'process.env.NODE_ENV': JSON.stringify('development') },
  });
  return outDir;
}
