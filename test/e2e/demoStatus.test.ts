/**
 * What the demo says when the network or the sign-in is not there, in real
 * Chromium: a message sent offline is "Queued" (not "Sending…" forever), a
 * refused token is shown as an expired sign-in with a way back, and signing
 * in while offline says so instead of blaming the server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { buildDemo } from '../../scripts/buildDemo.mjs';
import { DemoTab, eventually, launchChromium } from './support/browser';
import { DemoServer, WORLD } from './support/demoServer';

let browser: Browser;
let server: DemoServer;
const tabs: DemoTab[] = [];

beforeAll(async () => {
  await buildDemo({ quiet: true });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const t of tabs.splice(0)) await t.context.close().catch(() => undefined);
  await server?.dispose();
});

async function open(userId: string): Promise<DemoTab> {
  const tab = await DemoTab.open(browser, server.url, userId);
  tabs.push(tab);
  return tab;
}

describe('the demo tells offline and signed-out apart (Chromium)', () => {
  it(
    'a message sent offline reads "Queued" until it is sent',
    async () => {
      server = await new DemoServer().start();
      const alice = await open('alice');
      await alice.openConversation(WORLD.group);
      await alice.context.setOffline(true);
      server.cutOff.add('alice');
      await eventually(async () => (await alice.badge()).connection, 'offline');
      await alice.send('Written on the train');
      await eventually(() => alice.receiptOf('Written on the train'), /^Queued/);
      expect(await alice.page.getByTestId('sync-badge').innerText()).toMatch(/offline/i);

      server.cutOff.delete('alice');
      await alice.context.setOffline(false);
      await eventually(() => alice.receiptOf('Written on the train'), '0 read · 3 unread', 60_000);
    },
    120_000,
  );

  it(
    'a refused token: the badge says the sign-in expired, a banner says the queue is kept, "Sign in again" brings it back',
    async () => {
      server = await new DemoServer().start();
      const bob = await open('bob');
      // Every token handed out so far is refused, and the login service is down.
      await bob.context.route('**/v1/dev/token', (route) => route.abort());
      await server.stop();
      server.secret = 'another-secret-for-the-status-test';
      await server.start();

      await eventually(async () => (await bob.badge()).connection, 'needs-auth', 60_000);
      expect(await bob.page.getByTestId('sync-badge').innerText()).toMatch(/sign-in expired/i);
      const banner = bob.page.getByTestId('auth-banner');
      await eventually(() => banner.isVisible(), true);
      expect(await banner.innerText()).toMatch(/kept/i);

      await bob.context.unroute('**/v1/dev/token');
      await banner.getByRole('button', { name: /sign in again/i }).click();
      await eventually(async () => (await bob.badge()).connection, 'online', 60_000);
      await eventually(() => banner.isVisible(), false);
    },
    120_000,
  );

  it(
    'signing in while offline says the device is offline, not that the server failed',
    async () => {
      server = await new DemoServer().start();
      const context = await browser.newContext();
      tabs.push(new DemoTab('nobody', context, await context.newPage()));
      const page = context.pages()[0]!;
      await page.goto(server.url);
      await page.getByTestId('login').waitFor();
      await context.setOffline(true);
      await page.getByTestId('user-alice').click();
      await eventually(() => page.getByTestId('login-status').innerText(), /offline/i);
      expect(await page.getByTestId('login-status').innerText()).not.toMatch(/server/i);
    },
    60_000,
  );
});
