/**
 * readsync/react in real Chromium: a small React app (test/e2e/react) in
 * StrictMode with React's development build, so every effect mounts, unmounts
 * and mounts again. The provider creates its client, as a naive app would.
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildReactPage } from './support/buildReactPage';
import { eventually, launchChromium } from './support/browser';
import { DemoServer, WORLD } from './support/demoServer';

let browser: Browser;
let pageDir: string;
let server: DemoServer;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  pageDir = await buildReactPage();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (pageDir) rmSync(pageDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  await server?.dispose();
});

async function open(userId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${userId}] page error:`, err.message));
  await page.goto(`${server.url}?user=${userId}&conv=${WORLD.group}`);
  await eventually(() => page.getByTestId('status').innerText(), 'online');
  return page;
}

const message = (page: Page, text: string) => page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
const liveSubscriptions = (page: Page) => page.evaluate(() => window.readsync!.liveSubscriptions);
const members = (page: Page, filter: string) => page.getByTestId(`members-${filter}`).getByTestId('member').allInnerTexts();

describe('readsync/react in StrictMode (Chromium)', () => {
  it(
    'one open client per provider; receipts go out and come back; one worker subscription per live query, released on unmount',
    async () => {
      server = await new DemoServer(pageDir).start();
      const [alice, bob] = [await open('alice'), await open('bob')];
      for (const page of [alice, bob]) {
        expect(await page.evaluate(() => window.effectMounts)).toBe(2); // StrictMode's double mount is on
        expect(await page.evaluate(() => window.readsyncCreated)).toBe(1);
      }

      await alice.getByTestId('compose-text').fill('Hello from React');
      await alice.getByTestId('compose-send').click();
      await eventually(() => message(alice, 'Hello from React').getByTestId('receipt').innerText(), '0 read · 3 unread');

      // Bob's tracker sees it on screen and acknowledges it; Alice's hook shows the receipt.
      await eventually(() => message(bob, 'Hello from React').getAttribute('data-ack-status'), 'sent');
      await eventually(() => message(alice, 'Hello from React').getByTestId('receipt').innerText(), '1 read · 2 unread');

      // sync status + conversations + messages, and Alice's one receipt line: nothing doubled.
      await eventually(() => liveSubscriptions(alice), 4);
      await eventually(() => liveSubscriptions(bob), 3);
      await alice.getByTestId('toggle-conversation').click();
      await eventually(() => liveSubscriptions(alice), 2);
      await alice.getByTestId('toggle-conversation').click();
      await eventually(() => liveSubscriptions(alice), 4);

      // useReadMembers pages one member at a time.
      await message(alice, 'Hello from React').getByTestId('receipt').click();
      await eventually(() => alice.getByTestId('members-read').getAttribute('data-finished'), 'true');
      expect(await members(alice, 'read')).toEqual(['bob']);
      await eventually(() => members(alice, 'unread'), ['carol']);
      await alice.getByTestId('members-more-unread').click();
      await eventually(() => members(alice, 'unread'), ['carol', 'dave']);
    },
    120_000,
  );

  it(
    'a client closed under mounted hooks: they keep their last value and show no error, also when mounted afterwards',
    async () => {
      server = await new DemoServer(pageDir).start();
      const alice = await open('alice');
      await eventually(() => alice.getByTestId('conversation-count').innerText(), '2');
      await alice.evaluate(() => window.readsync!.close());

      await alice.getByTestId('toggle-conversation').click();
      await alice.getByTestId('toggle-conversation').click();
      await alice.getByTestId('message-list').waitFor();
      expect(await alice.getByTestId('status').innerText()).toBe('online');
      expect(await alice.getByTestId('conversation-count').innerText()).toBe('2');
      expect(await alice.getByTestId('error').count()).toBe(0);
      expect(await liveSubscriptions(alice)).toBe(0);
    },
    60_000,
  );

  it(
    'unmounting the provider closes the client it created',
    async () => {
      server = await new DemoServer(pageDir).start();
      const alice = await open('alice');
      await alice.evaluate(() => window.unmountApp!());
      const outcome = await alice.evaluate(() =>
        window.readsync!.flush().then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        ),
      );
      expect(outcome).toBe('closed');
    },
    60_000,
  );
});
