/**
 * The demo as a phone user and a keyboard or screen-reader user meet it, in
 * real Chromium: layout at 360-414 px, the conversation list as its own view,
 * the member panel as a modal dialog, and axe-core run in the page at phone
 * and desktop widths. Screenshots go to the ignored test-results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildDemo } from '../../scripts/buildDemo.mjs';
import { byImpact, runAxe, type AxeFinding } from './support/axe';
import { DemoTab, eventually, launchChromium, phone, type Device } from './support/browser';
import { DemoServer, WORLD } from './support/demoServer';
import { horizontalOverflow, onScreen } from './support/layout';

const RESULTS = new URL('../../test-results/', import.meta.url).pathname;
// `npm run demo:screenshots` points this at demo/public/screenshots/ to refresh the manifest's screenshots on purpose.
const MANIFEST_SHOTS = process.env.READSYNC_MANIFEST_SCREENSHOTS;
const LONG = `A long link nobody wraps: https://example.com/${'x'.repeat(90)}`;
let browser: Browser;
let server: DemoServer;
const tabs: DemoTab[] = [];

beforeAll(async () => {
  await buildDemo({ quiet: true });
  browser = await launchChromium();
  mkdirSync(RESULTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const t of tabs.splice(0)) await t.context.close().catch(() => undefined);
  await server?.dispose();
});

async function open(userId: string, device?: Device): Promise<DemoTab> {
  const tab = await DemoTab.open(browser, server.url, userId, device);
  tabs.push(tab);
  return tab;
}

/** Alice's group conversation with a read group message of hers, a long one, and one of Bob's. */
async function groupWithHistory(device?: Device): Promise<DemoTab> {
  const [alice, bob] = [await open('alice', device), await open('bob')];
  await bob.openConversation(WORLD.group);
  await bob.send('Morning! Coffee at ten?', { receipts: false });
  await alice.openConversation(WORLD.group);
  await alice.send('Standup moves to 10:30');
  await alice.send(LONG, { receipts: false });
  await eventually(() => alice.receiptOf('Standup moves to 10:30'), '1 read · 2 unread');
  return alice;
}

const visible = (page: Page, testId: string) => page.getByTestId(testId).isVisible();

describe('the demo on a phone and for everyone (Chromium)', () => {
  it(
    'phone, 360-414 px: the conversation list is its own view, nothing overflows sideways, header and Send stay on screen, messages show their time',
    async () => {
      server = await new DemoServer().start();
      const alice = await groupWithHistory(phone(390));
      const page = alice.page;
      // The open conversation fills the screen; "back" leads to the list, which is then all there is.
      expect(await visible(page, 'conversation-list')).toBe(false);
      await page.getByTestId('back').click();
      expect(await visible(page, 'conversation-list')).toBe(true);
      expect(await visible(page, 'message-list')).toBe(false);
      await page.screenshot({ path: `${RESULTS}demo-phone-list.png` });
      for (const width of [360, 390, 414]) {
        await page.setViewportSize({ width, height: 844 });
        expect(await horizontalOverflow(page), `list at ${width}px`).toEqual([]);
      }
      await alice.openConversation(WORLD.group);
      expect(await visible(page, 'conversation-list')).toBe(false);
      for (const width of [360, 390, 414]) {
        await page.setViewportSize({ width, height: 844 });
        expect(await horizontalOverflow(page), `conversation at ${width}px`).toEqual([]);
        for (const id of ['sync-badge', 'switch-user', 'compose-send', 'compose-text']) expect(await onScreen(page.getByTestId(id)), `${id} at ${width}px`).toBe(true);
      }
      expect(await alice.message('Standup moves to 10:30').getByTestId('message-time').innerText()).toMatch(/^\d{1,2}:\d{2}/);
      expect(await alice.message('Morning! Coffee at ten?').getByTestId('message-time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: `${RESULTS}demo-phone.png` });
      if (MANIFEST_SHOTS) await page.screenshot({ path: `${MANIFEST_SHOTS}/phone.png` });
    },
    120_000,
  );

  it(
    'keyboard and dialog: Tab reaches the conversations and Enter opens one; the receipt line looks like a link and opens a modal dialog that Esc and the backdrop close, focus going in and back',
    async () => {
      server = await new DemoServer().start();
      const alice = await groupWithHistory();
      const page = alice.page;
      await page.goto(server.url); // no conversation open (none in the URL)
      await page.getByTestId('conversation').first().waitFor();
      expect(await page.getByTestId('conversation-title').count()).toBe(0);
      // Keyboard only: Tab until a conversation has the focus, then Enter.
      let focused = '';
      for (let i = 0; i < 10 && focused !== WORLD.group; i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.convId ?? '');
      }
      expect(focused).toBe(WORLD.group);
      await page.keyboard.press('Enter');
      await eventually(() => page.getByTestId('conversation-title').innerText(), /team/i);
      // Room for an unread count beside each conversation (filled once unread counts exist).
      expect(await page.getByTestId('conversation').first().getByTestId('unread-count').count()).toBe(1);

      const receipt = alice.message('Standup moves to 10:30').getByTestId('receipt');
      const look = await receipt.evaluate((el) => ({ cursor: getComputedStyle(el).cursor, underline: getComputedStyle(el).textDecorationLine, popup: el.getAttribute('aria-haspopup') }));
      expect(look).toEqual({ cursor: 'pointer', underline: 'underline', popup: 'dialog' });

      await receipt.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: /who has read it/i });
      await dialog.waitFor();
      expect(await dialog.evaluate((el) => el.contains(document.activeElement) && (el as HTMLDialogElement).matches(':modal'))).toBe(true);
      await eventually(() => dialog.getByTestId('members-read').getByTestId('member').count(), 1);
      await page.keyboard.press('Escape');
      await eventually(() => dialog.count(), 0);
      expect(await receipt.evaluate((el) => el === document.activeElement)).toBe(true);

      await receipt.click();
      await dialog.waitFor();
      await page.mouse.click(5, 5); // the backdrop
      await eventually(() => dialog.count(), 0);
    },
    120_000,
  );

  it(
    'axe-core finds no serious or critical violations: sign-in, list, conversation and member dialog, on a phone and on a desktop',
    async () => {
      server = await new DemoServer().start();
      const report: Record<string, Record<string, number>> = {};
      const rules: Record<string, string[]> = {};
      const serious: AxeFinding[] = [];
      const check = async (name: string, page: Page) => {
        const found = await runAxe(page);
        report[name] = byImpact(found);
        rules[name] = found.map((f) => `${f.impact} ${f.id}: ${f.targets.join(', ')}`);
        serious.push(...found.filter((f) => f.impact === 'serious' || f.impact === 'critical').map((f) => ({ ...f, id: `${name}: ${f.id}` })));
      };
      for (const [name, device] of [['phone', phone(390)], ['desktop', { viewport: { width: 1280, height: 800 } }]] as const) {
        await server.dispose();
        server = await new DemoServer().start();
        const login = await browser.newPage(device);
        await login.goto(server.url);
        await login.getByTestId('login').waitFor();
        await check(`${name} sign-in`, login);
        await login.close();

        const alice = await groupWithHistory(device);
        const page = alice.page;
        await check(`${name} conversation`, page);
        if (name === 'desktop') await page.screenshot({ path: `${RESULTS}demo-desktop.png` });
        if (name === 'desktop' && MANIFEST_SHOTS) await page.screenshot({ path: `${MANIFEST_SHOTS}/desktop.png` });
        await alice.message('Standup moves to 10:30').getByTestId('receipt').click();
        await page.getByRole('dialog').getByTestId('member').first().waitFor();
        await check(`${name} member dialog`, page);
        if (name === 'phone') await page.screenshot({ path: `${RESULTS}demo-phone-dialog.png` });
        await page.keyboard.press('Escape');
        if (name === 'phone') await page.getByTestId('back').click();
        await check(`${name} list`, page);
        for (const t of tabs.splice(0)) await t.context.close();
      }
      writeFileSync(`${RESULTS}axe.json`, JSON.stringify({ byImpact: report, rules }, null, 2));
      console.log('axe-core violations by impact:', JSON.stringify(report));
      expect(serious).toEqual([]);
    },
    180_000,
  );
});
