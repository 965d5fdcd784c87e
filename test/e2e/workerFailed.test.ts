/**
 * A worker that fails to load, in real Chromium: the client must settle every
 * call with `worker-failed` instead of hanging (issue 9). The demo page only
 * provides the library (`window.readsyncCreateClient`); each case builds its
 * own client with a broken worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildDemo } from '../../scripts/buildDemo.mjs';
import { launchChromium } from './support/browser';
import { DemoServer } from './support/demoServer';

let browser: Browser;
let server: DemoServer;
let page: Page;

beforeAll(async () => {
  await buildDemo({ quiet: true });
  browser = await launchChromium();
  server = await new DemoServer().start();
  const context = await browser.newContext();
  page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId('login').waitFor();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

type Outcome = { markRead: string; status: string; errors: string[]; message: string; closed: boolean };

/** Creates a client on `workerSource` in the page, calls it, and reports how everything settled. */
function tryWorker(kind: 'missing-url' | 'missing-import' | 'not-readsync'): Promise<Outcome> {
  return page.evaluate(async (k) => {
    const create = window.readsyncCreateClient;
    if (!create) throw new Error('the demo page does not expose readsyncCreateClient');
    const blob = (src: string) => URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const worker =
      k === 'missing-url'
        ? new Worker(new URL('/no-such-dir/readsync.worker.js', location.href), { type: 'module' })
        : k === 'missing-import'
          ? new Worker(blob(`import '${location.origin}/node_modules/.vite/deps/readsync-worker.js';`), { type: 'module' })
          : new Worker(blob('self.onmessage = () => {};'), { type: 'module' });
    const client = create({ worker, serverUrl: location.origin, userId: 'bob', token: 'token', startTimeoutMs: 1500 });
    const errors: string[] = [];
    let message = '';
    client.error$.subscribe((e) => {
      errors.push(e.code);
      message = e.message;
    });
    const status = new Promise<string>((resolve) =>
      client.syncStatus$.subscribe({ next: (s) => resolve(`value ${s.connection}`), error: (e: { code?: string }) => resolve(`error ${e.code}`) }),
    );
    const markRead = await client.markRead('msgAAAAAAAAAAAA1').then(
      () => 'resolved',
      (e: { code?: string }) => `rejected ${e.code}`,
    );
    const result = { markRead, status: await status, errors, message, closed: false };
    await client.close();
    result.closed = true;
    return result;
  }, kind);
}

describe('a readsync worker that fails (Chromium)', () => {
  it('a worker URL that 404s: every call settles with worker-failed, error$ says why once', async () => {
    const r = await tryWorker('missing-url');
    expect(r).toMatchObject({ markRead: 'rejected worker-failed', status: 'error worker-failed', errors: ['worker-failed'], closed: true });
    expect(r.message).toMatch(/worker URL/);
  });

  it('a worker whose imports 404 (the Vite mistake): the same', async () => {
    const r = await tryWorker('missing-import');
    expect(r).toMatchObject({ markRead: 'rejected worker-failed', status: 'error worker-failed', errors: ['worker-failed'], closed: true });
  });

  it('a worker that loads but never answers: worker-failed after startTimeoutMs', async () => {
    const r = await tryWorker('not-readsync');
    expect(r).toMatchObject({ markRead: 'rejected worker-failed', status: 'error worker-failed', errors: ['worker-failed'], closed: true });
    expect(r.message).toMatch(/did not answer within 1500 ms/);
  });
});
