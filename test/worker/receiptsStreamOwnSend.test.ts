import { afterEach, describe, expect, it } from 'vitest';
import type { MessageReceipt } from '../../src/protocol';
import type { ReadState } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Every receipt the `receipts` subscription `id` delivered, over all batches. */
const delivered = (c: Client, id: number): MessageReceipt[] => c.batches.flatMap((b) => b.filter((u) => u.id === id).flatMap((u) => (u.value as MessageReceipt[]) ?? []));

describe('receipts$ (issue 10.7)', () => {
  it('does not fire when my own message is accepted with nobody having it; it fires when a device of the peer stores it, then when they read it', async () => {
    const core = newCore();
    const conv = await core.admin.createC2C('alice', 'bob');
    const alice = await openClient(core, 'alice');
    // Bob's worker stores what arrives at once; its delivery waits for a flush this test asks for.
    const bob = await openClient(core, 'bob', { worker: { flush: { debounceMs: 600_000 } } });
    open.push(alice, bob);
    await alice.until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'alice sees the conversation');
    const receipts = await alice.sub({ kind: 'receipts' });
    const msg = await alice.api.sendMessage({ convId: conv.id, text: 'hi', needReadReceipt: true });
    const rs = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === 'Sent', 'Sent');
    // A receipts event from the server with nobody having it yet is no arrival of a receipt either.
    await alice.worker.engine.apply({ type: 'receipts', receipts: [{ convId: conv.id, convType: 'c2c', messageId: msg.id, timestamp: 0, isPeerRead: false, readCount: 0, unreadCount: 1, deliveredCount: 0 }], cursor: 1 });
    await alice.worker.hub.idle();
    expect(delivered(alice, receipts)).toEqual([]);

    await bob.until(() => bob.db.messages.get(msg.id), (m) => m !== undefined, 'bob has it');
    await bob.api.flush(); // his device says it has it
    await alice.until(() => delivered(alice, receipts), (b) => b.length > 0, 'a receipt when bob\'s device has it');
    expect(delivered(alice, receipts)).toEqual([expect.objectContaining({ messageId: msg.id, isPeerRead: false, readCount: 0, deliveredCount: 1 })]);

    await bob.api.markRead([msg.id]);
    await bob.api.flush();
    await alice.until(() => delivered(alice, receipts), (b) => b.length > 1, 'a receipt when bob reads');
    expect(delivered(alice, receipts)[1]).toEqual(expect.objectContaining({ messageId: msg.id, isPeerRead: true, readCount: 1, deliveredCount: 1 }));
    expect(delivered(alice, receipts)).toHaveLength(2);
  });
});
