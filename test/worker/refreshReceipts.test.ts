import { afterEach, describe, expect, it, vi } from 'vitest';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

describe('catch-up receipt refresh', () => {
  it('asks for the receipts of my sent messages that asked for them, including ones sent from my other device, and nothing else', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const here = await alice.api.sendMessage({ convId: 'team', text: 'from this device', needReadReceipt: true });
    await alice.api.sendMessage({ convId: 'team', text: 'no receipts wanted', needReadReceipt: false });
    await alice.api.flush();
    const now = Date.now();
    // sent by alice's other device and by bob: this worker learns of them by pulling
    await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: 'otherdevice01', convId: 'team', text: 'from my phone', needReadReceipt: true, createdAt: now }] });
    await core.sendMessages('bob', { type: 'send-messages', messages: [{ id: 'bobsmessage01', convId: 'team', text: 'from bob', needReadReceipt: true, createdAt: now }] });
    await alice.worker.engine.catchUp();
    expect(await alice.db.messages.get('otherdevice01')).toBeDefined();
    expect(await alice.db.messages.get('bobsmessage01')).toBeDefined();

    const asked = vi.spyOn(alice.transport, 'queryReceipts');
    await alice.worker.engine.refreshReceipts();
    const ids = asked.mock.calls.flatMap(([req]) => req.messageIds);
    expect(ids.sort()).toEqual([here.id, 'otherdevice01'].sort());
  });
});
