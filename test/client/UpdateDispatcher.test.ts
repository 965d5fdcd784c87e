/**
 * The page-side dispatch (issue 14): large batches are delivered a frame's
 * budget at a time, small ones at once, and the values of one subscription
 * always in the order the worker posted them.
 */
import { describe, expect, it } from 'vitest';
import { packUpdates, type ReadState, type SubscriptionUpdate } from '../../src/bridge';
import { UpdateDispatcher, type DispatchEnvironment } from '../../src/client/UpdateDispatcher';

/** A clock that moves only when a subscriber "works", and frames that begin only when the test says so. */
function fakePage(costPerUpdateMs: number) {
  let t = 0;
  const frames: (() => void)[] = [];
  const env: DispatchEnvironment = { now: () => t, afterNextFrame: (fn) => void frames.push(fn) };
  const seen: { frame: number; id: number; value: unknown }[] = [];
  /** Callback time (ms) spent per frame. */
  const spent: number[] = [0];
  let frame = 0;
  const deliver = (updates: SubscriptionUpdate[]) => {
    for (const u of updates) {
      seen.push({ frame, id: u.id, value: u.value });
      t += costPerUpdateMs;
      spent[frame] = (spent[frame] ?? 0) + costPerUpdateMs;
    }
  };
  const nextFrame = () => {
    frame++;
    spent[frame] = 0;
    frames.splice(0).forEach((f) => f());
  };
  return { env, seen, spent, deliver, nextFrame, pendingFrames: () => frames.length };
}

const state = (messageId: string, readCount: number): ReadState => ({
  messageId,
  convId: 'team',
  convType: 'group',
  direction: 'outgoing',
  needReadReceipt: true,
  status: 'sent',
  readCount,
  unreadCount: 9 - readCount,
  deliveredCount: readCount,
  isPeerRead: false,
  timestamp: readCount,
  ackStatus: 'none',
  label: `${readCount} read`,
});

/** A packed batch (as the worker posts it) of read states for subscriptions `ids`, all at `readCount`. */
const batchOf = (ids: number[], readCount: number) =>
  packUpdates(
    ids.map((id) => ({ id, value: state(`m${id}`, readCount) })),
    () => true,
  );
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('UpdateDispatcher', () => {
  it('delivers a small batch at once, in the task that received it', () => {
    const page = fakePage(0.01);
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    d.push(batchOf([1, 2, 3], 1));
    expect(page.seen.map((s) => s.id)).toEqual([1, 2, 3]);
    // A second one in the same frame, with budget left, does not wait for a frame either.
    d.push(batchOf([4], 1));
    expect(page.seen.map((s) => s.id)).toEqual([1, 2, 3, 4]);
    expect(d.backlog).toBe(0);
  });

  it('delivers a second large batch of one frame in the next frame: one delivery per frame', () => {
    const page = fakePage(0.001);
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    d.push(batchOf(range(0, 500), 1));
    expect(page.seen).toHaveLength(500);
    d.push(batchOf(range(500, 1_000), 1));
    expect(page.seen).toHaveLength(500);
    page.nextFrame();
    expect(page.seen).toHaveLength(1_000);
    expect(new Set(page.seen.slice(500).map((s) => s.frame))).toEqual(new Set([1]));
  });

  it('spreads a large batch over frames, within the budget per frame, and delivers all of it', () => {
    const page = fakePage(0.01); // 10,000 updates = 100 ms of callbacks
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    d.push(batchOf(range(0, 10_000), 1));
    expect(page.seen.length).toBeGreaterThan(0);
    expect(page.seen.length).toBeLessThan(10_000);
    for (let i = 0; i < 100 && d.backlog > 0; i++) page.nextFrame();
    expect(d.backlog).toBe(0);
    expect(page.seen.map((s) => s.id)).toEqual(range(0, 10_000));
    // No frame spent more than its budget plus one chunk between looks at the clock (64 updates).
    expect(Math.max(...page.spent)).toBeLessThanOrEqual(8 + 64 * 0.01 + 1e-9);
    expect(new Set(page.seen.map((s) => s.frame)).size).toBeGreaterThanOrEqual(12);
  });

  it('never lets the rest of an earlier batch overtake a later value of the same subscription', () => {
    const page = fakePage(0.01);
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    d.push(batchOf(range(0, 5_000), 1));
    expect(page.seen.some((s) => s.id === 4_000)).toBe(false);
    // While most of the first batch waits, a newer value for subscriptions 4,000 and 4,999 arrives, small and in a fresh frame.
    page.nextFrame();
    d.push(batchOf([4_000, 4_999], 2));
    for (let i = 0; i < 100 && d.backlog > 0; i++) page.nextFrame();
    const of = (id: number) => page.seen.filter((s) => s.id === id).map((s) => (s.value as ReadState).readCount);
    expect(of(4_000)).toEqual([1, 2]);
    expect(of(4_999)).toEqual([1, 2]);
    expect(page.seen).toHaveLength(5_002);
  });

  it('keeps plain updates (lists, errors, receipt batches) in order with the read states', () => {
    const page = fakePage(0.01);
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    const plain: SubscriptionUpdate[] = [{ id: 7, value: [{ messageId: 'm1' }] }, { id: 8, error: { name: 'StorageError', code: 'storage', message: 'x' } }];
    d.push({ ...batchOf(range(100, 2_100), 1), updates: plain });
    d.push([{ id: 7, value: [{ messageId: 'm2' }] }]);
    for (let i = 0; i < 100 && d.backlog > 0; i++) page.nextFrame();
    const sevens = page.seen.filter((s) => s.id === 7).map((s) => (s.value as { messageId: string }[])[0]?.messageId);
    expect(sevens).toEqual(['m1', 'm2']);
    expect(page.seen[1]?.id).toBe(8);
    expect(page.seen).toHaveLength(2_003);
  });

  it('delivers nothing more once stopped', () => {
    const page = fakePage(0.01);
    const d = new UpdateDispatcher(page.deliver, page.env, 8);
    d.push(batchOf(range(0, 5_000), 1));
    const before = page.seen.length;
    d.stop();
    d.push(batchOf([1], 2));
    for (let i = 0; i < 10; i++) page.nextFrame();
    expect(page.seen).toHaveLength(before);
  });
});
