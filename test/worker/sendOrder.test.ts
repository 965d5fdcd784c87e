import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

describe('send order across tabs', () => {
  it('two tabs of one user sending in the same millisecond (one clock behind) keep the order the user sent in', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const idb = new IDBFactory();
    // Tab A's clock is frozen; tab B's is a second behind it.
    const tabA = await openClient(core, 'alice', { idb, worker: { now: () => 1_700_000_001_000 } });
    const tabB = await openClient(core, 'alice', { idb, worker: { now: () => 1_700_000_000_000 } });
    open.push(tabA, tabB);
    await tabA.api.setEnvironment({ online: false });
    await tabB.api.setEnvironment({ online: false });

    const sent: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const [name, tab] of [['A', tabA], ['B', tabB]] as const) {
        const text = `${name}${i}`;
        await tab.api.sendMessage({ convId: 'team', text, needReadReceipt: false });
        sent.push(text);
      }
    }

    for (const tab of [tabA, tabB]) await tab.api.setEnvironment({ online: true });
    for (const tab of [tabA, tabB]) await tab.api.flush();
    const texts = await tabA.until(
      async () => (await core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages.map((m) => m.text),
      (t) => t.length === sent.length,
      'all six on the server',
    );
    expect(texts).toEqual(sent);
  });
});
