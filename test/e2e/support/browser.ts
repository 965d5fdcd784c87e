import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium, never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** How long a UI expectation may take to come true (receipts cross two browsers and a server). */
export const UI_TIMEOUT = 20_000;

/** Waits until `read()` equals `want` (or matches it, for a RegExp). */
export async function eventually<T>(read: () => Promise<T>, want: T | RegExp, timeout = UI_TIMEOUT): Promise<void> {
  if (want instanceof RegExp) await expect.poll(read, { timeout, interval: 100 }).toMatch(want);
  else await expect.poll(read, { timeout, interval: 100 }).toEqual(want);
}

/** Browser context options of a screen size. */
export type Device = Pick<NonNullable<Parameters<Browser['newContext']>[0]>, 'viewport' | 'isMobile' | 'hasTouch' | 'deviceScaleFactor'>;
export const DESKTOP: Device = { viewport: { width: 900, height: 640 } };
/** A phone held upright: `width` CSS pixels wide (360-414 are the common ones). */
export const phone = (width = 390): Device => ({ viewport: { width, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });

/** One user of the demo in one tab: what they see and what they do. */
export class DemoTab {
  constructor(
    readonly userId: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** A fresh browser profile (own IndexedDB, own service worker) signed in as `userId`; a desktop window unless `device` says otherwise. */
  static async open(browser: Browser, baseUrl: string, userId: string, device: Device = DESKTOP): Promise<DemoTab> {
    const context = await browser.newContext(device);
    const page = await context.newPage();
    const tab = new DemoTab(userId, context, page);
    tab.trace();
    await page.goto(baseUrl);
    await page.getByTestId(`user-${userId}`).click();
    await page.getByTestId('conversation').first().waitFor({ timeout: UI_TIMEOUT });
    return tab;
  }

  /** Another tab of the same profile (same IndexedDB), already signed in. */
  async newTab(baseUrl: string): Promise<DemoTab> {
    const page = await this.context.newPage();
    const tab = new DemoTab(this.userId, this.context, page);
    tab.trace();
    await page.goto(baseUrl);
    await page.getByTestId('conversation').first().waitFor({ timeout: UI_TIMEOUT });
    return tab;
  }

  /** Browser errors show up in the test output, prefixed with the user. */
  private trace(): void {
    this.page.on('pageerror', (err) => console.error(`[${this.userId}] page error:`, err.message));
  }

  async openConversation(convId: string): Promise<void> {
    await this.page.locator(`[data-testid="conversation"][data-conv-id="${convId}"]`).click();
    await this.page.getByTestId('message-list').waitFor();
  }

  async send(text: string, { receipts = true } = {}): Promise<void> {
    await this.page.getByTestId('compose-text').fill(text);
    await this.page.getByTestId('compose-receipts').setChecked(receipts);
    await this.page.getByTestId('compose-send').click();
    await this.message(text).waitFor({ state: 'attached', timeout: UI_TIMEOUT });
  }

  message(text: string): Locator {
    return this.page.getByTestId('message').filter({ has: this.page.getByTestId('message-text').getByText(text, { exact: true }) });
  }

  /** The receipt line of my message: "Sending…", "Sent", "Read", "1 read · 2 unread". */
  receiptOf(text: string): Promise<string> {
    return this.message(text).getByTestId('receipt').innerText();
  }

  /** My acknowledgement of someone else's message: none | pending | sent | rejected. */
  async ackOf(text: string): Promise<string | null> {
    return this.message(text).getAttribute('data-ack-status');
  }

  /** Scrolls the message list to its top, so newer messages arrive below the fold. */
  async scrollToTop(): Promise<void> {
    await this.page.getByTestId('message-list').evaluate((el) => (el.scrollTop = 0));
  }

  async scrollIntoView(text: string): Promise<void> {
    await this.message(text).scrollIntoViewIfNeeded();
  }

  /** Whether the message is on screen in the list's viewport. */
  async isOnScreen(text: string): Promise<boolean> {
    return this.message(text).evaluate((el) => {
      const list = el.closest('[data-testid="message-list"]') as HTMLElement;
      const a = el.getBoundingClientRect();
      const b = list.getBoundingClientRect();
      return a.bottom > b.top && a.top < b.bottom;
    });
  }

  async badge(): Promise<{ connection: string | null; pending: number }> {
    const b = this.page.getByTestId('sync-badge');
    return { connection: await b.getAttribute('data-connection'), pending: Number(await b.getAttribute('data-pending-acks')) };
  }

  /** Resolves once the service worker controls the page (the app shell is precached). */
  async serviceWorkerReady(): Promise<void> {
    await this.page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined, undefined, {
      timeout: UI_TIMEOUT,
    });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
