/**
 * readsync next to an app's own Comlink worker, in real Chromium: Comlink's
 * throw handler is one per page, and creating a readsync client must not change
 * how the app's worker errors arrive (issue 9).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser';
import { DemoServer } from './support/demoServer';

let browser: Browser;
let server: DemoServer;

beforeAll(async () => {
  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'readsync-comlink-page-'));
  await build({
    configFile: false,
    root: fileURLToPath(new URL('./comlinkNeighbour', import.meta.url)),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
    worker: { format: 'es' },
  });
  server = await new DemoServer(outDir).start();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe('readsync next to another Comlink worker (Chromium)', () => {
  it('leaves the app worker’s TypeError as Comlink delivers it: an Error with its name and message', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    await page.locator('#status', { hasText: 'ready' }).waitFor();
    const { before, after } = await page.evaluate(() => window.runNeighbourCheck!());
    expect(before).toMatchObject({ isError: true, name: 'TypeError', message: 'app worker: bad input' });
    expect(after).toEqual(before);
  });
});
