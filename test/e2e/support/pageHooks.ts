import type { Page } from 'playwright-core';

/**
 * How many messages of `convId` the page's worker has stored. Reads through
 * the demo's `window.readsync` client (its devtools handle), so the test can
 * wait for a delivery without opening the conversation — opening it would
 * show the messages and mark them read.
 */
export function storedMessageCount(page: Page, convId: string): Promise<number> {
  return page.evaluate(
    (id) =>
      new Promise<number>((resolve, reject) => {
        const client = window.readsync;
        if (!client) return reject(new Error('no readsync client on the page'));
        const sub = client.messages$(id).subscribe({
          next(list) {
            resolve(list.length);
            queueMicrotask(() => sub.unsubscribe());
          },
          error: reject,
        });
      }),
    convId,
  );
}
