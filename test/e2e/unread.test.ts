/**
 * Conversation read state in the demo, in real Chromium against the real
 * server (issue 10): the conversation list's unread badges, cleared by
 * reading on one device and, through the server, on Bob's other device
 * (another browser profile: its own IndexedDB and worker), which sends
 * nothing itself.
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

/** The unread badge of a conversation in the list: its number, 0 when hidden. */
async function unreadOf(tab: DemoTab, convId: string): Promise<number> {
  const badge = tab.page.locator(`[data-testid="conversation"][data-conv-id="${convId}"] [data-testid="unread-count"]`);
  if (await badge.isHidden()) return 0;
  return Number((await badge.innerText()).replace(/\D+/g, ''));
}

describe('unread counts in the demo (Chromium)', () => {
  it(
    'the group shows 3 unread on both of Bob’s devices; reading it on the phone clears the laptop’s badge too, and the laptop sends nothing; with private reads on, the next read clears the badges and Alice never learns of it',
    async () => {
      server = await new DemoServer().start();
      const alice = await open('alice');
      const phone = await open('bob');
      const laptop = await open('bob');
      await alice.openConversation(WORLD.group);
      await alice.send('one', { receipts: true });
      await alice.send('two', { receipts: false });
      await alice.send('three', { receipts: true });
      await eventually(() => unreadOf(phone, WORLD.group), 3);
      await eventually(() => unreadOf(laptop, WORLD.group), 3);
      // Alice's own messages are never unread for her.
      expect(await unreadOf(alice, WORLD.group)).toBe(0);

      const acksBefore = server.ackRequests();
      await phone.openConversation(WORLD.group);
      await eventually(() => unreadOf(phone, WORLD.group), 0);
      await eventually(() => unreadOf(laptop, WORLD.group), 0);
      // The two messages that asked for receipts count Bob as a reader once each.
      await eventually(() => alice.receiptOf('one'), '1 read · 2 unread');
      await eventually(() => alice.receiptOf('three'), '1 read · 2 unread');
      // Only the phone acknowledged: the laptop learned of the reads from the server. Opening the
      // group on the laptop, with the messages on screen, acknowledges nothing again.
      await eventually(async () => await phone.badge(), { connection: 'online', pending: 0 });
      const sent = server.ackRequests() - acksBefore;
      expect(sent).toBeGreaterThanOrEqual(1);
      await laptop.openConversation(WORLD.group);
      await laptop.message('three').waitFor();
      await laptop.page.waitForTimeout(1500); // longer than the read tracker's dwell time
      await eventually(async () => await laptop.badge(), { connection: 'online', pending: 0 });
      expect(server.ackRequests() - acksBefore).toBe(sent);
      // After a reload the laptop still shows the group read.
      await laptop.page.reload();
      await laptop.page.getByTestId('conversation').first().waitFor();
      await eventually(() => unreadOf(laptop, WORLD.group), 0);

      // Private reads, switched on on the phone: the laptop follows the setting; a read on the phone
      // still clears the laptop's badge, but Alice never learns of it.
      await phone.page.getByTestId('private-reads').check();
      await eventually(() => laptop.page.getByTestId('private-reads').isChecked(), true);
      await alice.send('four', { receipts: true });
      await eventually(() => alice.receiptOf('four'), '0 read · 3 unread');
      await eventually(() => unreadOf(laptop, WORLD.group), 1);
      await phone.message('four').waitFor();
      await eventually(() => unreadOf(laptop, WORLD.group), 0);
      await eventually(async () => await phone.badge(), { connection: 'online', pending: 0 });
      expect(await alice.receiptOf('four')).toBe('0 read · 3 unread');
      expect(await alice.receiptOf('one')).toBe('1 read · 2 unread');
    },
    120_000,
  );
});
