import { describe, expect, it } from 'vitest';
import { TurnScheduler } from '../../src/server/http/TurnScheduler';

/** A clock that moves `step` ms each time it is read. */
const ticking = (step: number) => {
  let t = 0;
  return () => (t += step);
};

describe('TurnScheduler', () => {
  it('runs tasks in arrival order and settles with their results or errors', async () => {
    const turns = new TurnScheduler(5, ticking(0));
    const order: number[] = [];
    const results = await Promise.allSettled([
      turns.run(() => (order.push(1), 'a')),
      turns.run(() => {
        order.push(2);
        throw new Error('boom');
      }),
      turns.run(async () => (order.push(3), 'c')),
    ]);
    expect(order).toEqual([1, 2, 3]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'boom', 'c']);
  });

  it('runs nothing synchronously, and yields to the event loop once a turn’s budget is spent', async () => {
    // Budget 5 ms, the clock moves 2 ms per reading: a turn starts tasks until 5 ms have passed, i.e. 3 of them.
    const turns = new TurnScheduler(5, ticking(2));
    const log: string[] = [];
    const done = Promise.all(Array.from({ length: 7 }, (_, i) => turns.run(() => log.push(`task ${i}`))));
    expect(log).toEqual([]);
    expect(turns.pending).toBe(7);
    // Other I/O of the loop, queued after the first slice was scheduled, runs between slices.
    setImmediate(() => log.push('io'));
    await done;
    expect(log).toEqual(['task 0', 'task 1', 'task 2', 'io', 'task 3', 'task 4', 'task 5', 'task 6']);
    expect(turns.pending).toBe(0);
  });
});
