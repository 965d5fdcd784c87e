/**
 * Runs `fn` in a new task, as soon as the event loop gets to it.
 *
 * Not `setTimeout(fn, 0)`: browsers clamp a timeout nested five deep to
 * 4 ms, and the subscription hub's ticks and the page's dispatch slices
 * schedule each other all day long, so every update would wait 4 ms (and a
 * trickle of single receipts 4 ms each). A MessageChannel message is a task
 * without that clamp. Callbacks queued before the message is handled run in
 * that one task, in order; callbacks queued while they run get the next one.
 * Where MessageChannel is missing, it falls back to setTimeout.
 */
export type TaskScheduler = (fn: () => void) => void;

export function createNextTask(): TaskScheduler {
  if (typeof MessageChannel !== 'function') return (fn) => void setTimeout(fn, 0);
  let queue: (() => void)[] = [];
  let channel: MessageChannel | null = null;
  const run = (): void => {
    const fns = queue;
    queue = [];
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        // One failing callback must not drop the others queued with it; report it like a task would.
        reportError(err);
      }
    }
  };
  return (fn) => {
    queue.push(fn);
    if (queue.length > 1) return;
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = run;
      // Node (tests, SSR): a port with a listener would keep the process alive.
      (channel.port1 as unknown as { unref?: () => void }).unref?.();
    }
    channel.port2.postMessage(null);
  };
}

function reportError(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** The shared scheduler of this realm (one channel for the hub, or for the page's dispatch). */
export const nextTask: TaskScheduler = createNextTask();
