/**
 * The delivery invariant of the seeded random schedules (issue 10.5): once
 * every device has caught up, paged back and drained its outbox, each
 * message that asked for receipts counts as delivered to exactly the members
 * of its audience one of whose devices stored it or who read it publicly (a
 * private read implies no delivery: docs/protocol.md): none lost through
 * crashes, reloads, lost replies or several tabs, none counted twice, and the
 * `delivered` member list is those members minus its readers.
 */
import { expect } from 'vitest';
import type { ReadSyncDb } from '../../../worker/db/ReadSyncDb';
import { GROUP, SENDER, type World } from './harness';
import { SIDE } from './scheduleHistory';

/** A device as this check sees it: its user and a database of it (all its tabs share one); a user may have several. */
export interface DeliveryDevice {
  user: string;
  tabs: { db: ReadSyncDb }[];
}

/**
 * `sideAudiences`: the audience (devices' users among it) of each SIDE
 * message that asked for receipts, as the membership was when it was sent.
 * In GROUP the membership never changes: everyone but the sender.
 */
export async function checkDeliveries(world: World, devices: readonly DeliveryDevice[], sideAudiences: ReadonlyMap<string, ReadonlySet<string>>, tag: string): Promise<void> {
  const messages = [...(await world.core.store.messagesAfter(GROUP, 0, 1_000_000)), ...(await world.core.store.messagesAfter(SIDE, 0, 1_000_000))].filter((m) => m.needReadReceipt);
  const ids = messages.map((m) => m.id);
  const delivered = new Map<string, number | undefined>();
  for (let i = 0; i < ids.length; i += 100) {
    // The sender asks; a message of bob's or carol's is asked by its sender.
    for (const sender of new Set(messages.slice(i, i + 100).map((m) => m.senderId))) {
      const mine = messages.slice(i, i + 100).filter((m) => m.senderId === sender).map((m) => m.id);
      const res = await world.core.queryReceipts(sender, { type: 'receipt-query', messageIds: mine });
      for (const r of res.receipts) delivered.set(r.messageId, r.deliveredCount);
    }
  }
  const users = [...new Set(devices.map((d) => d.user))];
  for (const m of messages) {
    const audience = m.convId === GROUP ? users.filter((u) => u !== m.senderId) : [...(sideAudiences.get(m.id) ?? [])];
    const readers = world.readersOf(m.id);
    const expected: string[] = [];
    for (const user of audience) {
      let stored = false;
      for (const d of devices) if (d.user === user && (await d.tabs[0]!.db.messages.get(m.id)) !== undefined) stored = true;
      if (readers.includes(user) || stored) expected.push(user);
    }
    expect(delivered.get(m.id), `${tag}: deliveredCount of ${m.id} (${m.convId}, from ${m.senderId})`).toBe(expected.length);
    const page = await world.core.memberPage(m.senderId, { type: 'member-page', messageId: m.id, filter: 'delivered', count: 100 });
    expect(page.page.members.map((x) => x.userId).sort(), `${tag}: delivered, unread members of ${m.id}`).toEqual(expected.filter((u) => !readers.includes(u)).sort());
  }
  expect(messages.some((m) => m.senderId === SENDER), `${tag}: alice's messages are among those checked`).toBe(true);
}
