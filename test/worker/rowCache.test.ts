import { describe, expect, it } from 'vitest';
import { RowCache } from '../../worker/subscriptions/RowCache';

describe('RowCache', () => {
  it('keeps at most max rows, dropping the least recently put first, and caches absence', () => {
    const c = new RowCache(3);
    c.set('a', 1);
    c.set('b', undefined);
    c.set('c', 3);
    c.set('a', 10); // put again: now the newest
    c.set('d', 4);
    expect(c.size).toBe(3);
    expect([c.has('a'), c.has('b'), c.has('c'), c.has('d')]).toEqual([true, false, true, true]);
    expect(c.get('a')).toBe(10);
    c.set('e', undefined);
    expect(c.has('c')).toBe(false);
    expect([c.has('e'), c.get('e')]).toEqual([true, undefined]);
    c.delete('a');
    expect(c.has('a')).toBe(false);
    c.clear();
    expect(c.size).toBe(0);
  });
});
