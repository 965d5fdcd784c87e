/**
 * The demo's read tracker (`createReadTracker`) in real Chromium: a message on
 * screen counts as read only while the user can see the page. Bob's window
 * loses the focus to another one (Chromium's focus emulation is turned off
 * for his page, so it really loses it), Alice's message lands on his screen,
 * and it is read only once he comes back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
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

/** When Bob's worker recorded that he read `text` (readAt: the page's clock at markRead), or null. */
function readAt(page: Page, text: string): Promise<number | null> {
  return page.evaluate(
    ([convId, t]) =>
      new Promise<number | null>((resolve, reject) => {
        const sub = window.readsync!.messages$(convId!).subscribe({
          next(list) {
            resolve(list.find((m) => m.text === t)?.readAt ?? null);
            queueMicrotask(() => sub.unsubscribe());
          },
          error: reject,
        });
      }),
    [WORLD.group, text],
  );
}

describe('read tracker in the demo (Chromium)', () => {
  it(
    'a message on screen while Bob is in another window is read only once he is back',
    async () => {
      server = await new DemoServer().start();
      const [alice, bob] = [await DemoTab.open(browser, server.url, 'alice'), await DemoTab.open(browser, server.url, 'bob')];
      tabs.push(alice, bob);
      await alice.openConversation(WORLD.group);
      await bob.openConversation(WORLD.group);

      // Bob switches to another window: his demo tab stays visible on screen but loses the focus.
      const cdp = await bob.context.newCDPSession(bob.page);
      await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
      const elsewhere = await bob.context.newPage();
      await elsewhere.bringToFront();
      await eventually(() => bob.page.evaluate(() => document.hasFocus()), false);

      await alice.send('Read me when you are back');
      await bob.message('Read me when you are back').waitFor({ timeout: 20_000 });
      expect(await bob.isOnScreen('Read me when you are back')).toBe(true);
      // He stays in the other window for a while; the message sits on his screen.
      await bob.page.evaluate(() => new Promise((r) => setTimeout(r, 1500)));
      expect(await bob.ackOf('Read me when you are back')).toBe('none');
      expect(await alice.receiptOf('Read me when you are back')).toBe('0 read · 3 unread');

      await bob.page.bringToFront();
      const back = await bob.page.evaluate(() => Date.now());
      await eventually(() => alice.receiptOf('Read me when you are back'), '1 read · 2 unread');
      expect(await readAt(bob.page, 'Read me when you are back')).toBeGreaterThanOrEqual(back);
    },
    120_000,
  );
});
