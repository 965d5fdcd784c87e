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
  it('does not fire when my own message is accepted with nobody having read it; it fires when someone reads it', async () => {
    const core = newCore();
    const conv = await core.admin.createC2C('alice', 'bob');
    const alice = await openClient(core, 'alice');
    const bob = await openClient(core, 'bob');
    open.push(alice, bob);
    await alice.until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'alice sees the conversation');
    const receipts = await alice.sub({ kind: 'receipts' });
    const msg = await alice.api.sendMessage({ convId: conv.id, text: 'hi', needReadReceipt: true });
    const rs = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === 'Sent', 'Sent');
    // A receipts event from the server with nobody having read it yet is no arrival of a receipt either.
    await alice.worker.engine.apply({ type: 'receipts', receipts: [{ convId: conv.id, convType: 'c2c', messageId: msg.id, timestamp: 0, isPeerRead: false, readCount: 0, unreadCount: 1 }], cursor: 1 });
    await alice.worker.hub.idle();
    expect(delivered(alice, receipts)).toEqual([]);

    await bob.until(() => bob.db.messages.get(msg.id), (m) => m !== undefined, 'bob has it');
    await bob.api.markRead([msg.id]);
    await bob.api.flush();
    await alice.until(() => delivered(alice, receipts), (b) => b.length > 0, 'a receipt when bob reads');
    expect(delivered(alice, receipts)).toEqual([expect.objectContaining({ messageId: msg.id, isPeerRead: true })]);
  });
});
