import { expect } from 'vitest';
import type { Store } from '../../src/server/store/Store';

/**
 * What the SQLite and PostgreSQL upgrade tests of member ordinals check on
 * their one fixture world: alice, erin, bob and dave joined at 0 (dave left
 * at 1 and came back at 4), carol at 2, frank at 6; m1 at 3 (audience bob,
 * erin, carol), m2 at 5 (bob, dave, erin, carol). Bob read m1, carol m2,
 * erin m2 privately.
 */
const m2 = { id: 'm2', convId: 'team', seq: 5, senderId: 'alice' };
const names = (xs: { userId: string }[]) => xs.map((x) => x.userId);

/** Right after the upgrade: ordinals by first join, then user id among those who joined together (alice, bob, dave, erin, carol, frank). */
export async function expectUpgradedWalks(store: Pick<Store, 'unreadAudience'>): Promise<void> {
  expect(await store.unreadAudience({ id: 'm1', convId: 'team', seq: 3, senderId: 'alice' }, null, 10)).toEqual([
    { userId: 'erin', ordinal: 3 },
    { userId: 'carol', ordinal: 4 },
  ]);
  // Erin's private read leaves her unread; dave is back in time for m2; frank joined after.
  expect(names(await store.unreadAudience(m2, null, 10))).toEqual(['bob', 'dave', 'erin']);
  expect(names(await store.unreadAudience(m2, null, 10, 2))).toEqual(['bob', 'dave', 'erin', 'carol']);
}

/** After gina joined at 7, bob read m2 and m3 was sent at 8: the new member has the next ordinal, the new read its bit. */
export async function expectWalksAfterNewWrites(store: Pick<Store, 'unreadAudience'>): Promise<void> {
  expect(names(await store.unreadAudience(m2, null, 10))).toEqual(['dave', 'erin']);
  expect(await store.unreadAudience({ id: 'm3', convId: 'team', seq: 8, senderId: 'alice' }, 4, 10)).toEqual([
    { userId: 'frank', ordinal: 5 },
    { userId: 'gina', ordinal: 6 },
  ]);
}
