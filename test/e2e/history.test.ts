/**
 * History on join and on demand in the demo, in real Chromium against the
 * reference server (issue 11): a member added to a group with 1,000 earlier
 * messages gets the group at once and sees its newest messages without the
 * history being downloaded first, scrolls back to the very first message
 * (older pages load as the list reaches its top), and after that, offline
 * and reloaded, pages back through what was loaded from IndexedDB alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { buildDemo } from '../../scripts/buildDemo.mjs';
import { DemoTab, UI_TIMEOUT, eventually, launchChromium } from './support/browser';
import { DemoServer } from './support/demoServer';

const SCENARIO_TIMEOUT = 180_000;
const HISTORY = 1000;
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

const text = (n: number) => `Old news ${n}`;

/** Scrolls the list to its top until message `n` is there (each scroll to the top may load an older page). */
async function scrollBackTo(tab: DemoTab, n: number): Promise<void> {
  await eventually(async () => {
    await tab.scrollToTop();
    return tab.message(text(n)).count();
  }, 1, 120_000);
}

describe('history on join and on demand (Chromium)', () => {
  it(
    'a member added to a group with 1,000 earlier messages sees the newest at once, scrolls back to the first, and pages the loaded history offline',
    async () => {
      server = await new DemoServer().start();
      const { core } = server;
      await core.admin.createGroup({ id: 'big', name: 'Big news', groupType: 'work', members: ['alice', 'carol'] });
      for (let i = 0; i < HISTORY; i += 100) {
        const messages = Array.from({ length: 100 }, (_, k) => ({ id: `bignews${String(i + k + 1).padStart(6, '0')}`, convId: 'big', text: text(i + k + 1), needReadReceipt: false, createdAt: Date.now() }));
        await core.sendMessages('alice', { type: 'send-messages', messages });
      }
      const bob = await DemoTab.open(browser, server.url, 'bob');
      tabs.push(bob);
      await bob.serviceWorkerReady();
      const history = () => server.requests.filter((r) => r === 'POST /v1/history').length;

      // Added while the app is open: the group shows up and opens on its newest messages, no reload.
      await core.admin.join('big', 'bob');
      await bob.page.locator('[data-testid="conversation"][data-conv-id="big"]').waitFor({ timeout: UI_TIMEOUT });
      await bob.openConversation('big');
      await bob.message(text(HISTORY)).waitFor({ timeout: UI_TIMEOUT });
      const list = bob.page.getByTestId('message-list');
      // Only the newest window came (one pull, no history page): the 900 older ones wait until asked for.
      expect(history()).toBe(0);
      expect(await list.getAttribute('data-has-older')).toBe('true');
      expect(await bob.page.getByTestId('message').count()).toBeLessThanOrEqual(100);

      await scrollBackTo(bob, 1);
      await eventually(() => list.getAttribute('data-has-older'), 'false');
      expect(await bob.page.getByTestId('message').count()).toBe(HISTORY);
      expect(history()).toBeGreaterThan(0);

      // Offline, and the page reloaded from the service worker: what was loaded pages back from IndexedDB.
      await bob.context.setOffline(true);
      server.cutOff.add('bob');
      const shell = await bob.page.reload();
      expect(shell?.fromServiceWorker()).toBe(true);
      await bob.page.getByTestId('conversation').first().waitFor({ timeout: UI_TIMEOUT });
      await bob.openConversation('big');
      await bob.message(text(HISTORY)).waitFor({ timeout: UI_TIMEOUT });
      await scrollBackTo(bob, 1);
      await eventually(() => bob.page.getByTestId('message-list').getAttribute('data-has-older'), 'false');
      expect(await bob.page.getByTestId('message').count()).toBe(HISTORY);
    },
    SCENARIO_TIMEOUT,
  );
});
