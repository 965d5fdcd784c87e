import * as Comlink from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerEntryApi } from '../../src/bridge';
import { createWorkerApi } from '../../worker/index';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { newCore } from './harness';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The browser entry's API over a MessageChannel, with an in-memory backend instead of HTTP. */
function entry(core = newCore(), idb = new IDBFactory()) {
  const api = createWorkerApi({ createTransport: (o) => new MemoryTransport(core, o.userId), indexedDB: idb, IDBKeyRange });
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(api, port2);
  const remote = Comlink.wrap<WorkerEntryApi>(port1);
  cleanups.push(async () => {
    await remote.close().catch(() => undefined);
    port1.close();
    port2.close();
  });
  return remote;
}

const init = { userId: 'alice', token: 't0k3n', serverUrl: 'http://localhost:1234' };

describe('the worker entry', () => {
  it('refuses calls before init with a clear closed error', async () => {
    const api = entry();
    await expect(api.markRead(['msg00000001'])).rejects.toMatchObject({ code: 'closed', message: expect.stringContaining('init') });
    await expect(api.subscribe([])).rejects.toMatchObject({ code: 'closed' });
    expect(await api.stats()).toEqual({ subscriptions: 0, queries: 0 });
  });

  it('validates init options, then works; a second init is refused', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const api = entry(core);
    await expect(api.init({ ...init, serverUrl: 'not a url' })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(api.init({ ...init, userId: '' })).rejects.toMatchObject({ code: 'invalid-argument' });
    await api.init(init);
    await expect(api.init(init)).rejects.toMatchObject({ code: 'invalid-argument' });
    let conversations: unknown[] = [];
    for (let i = 0; i < 100 && conversations.length === 0; i++) {
      conversations = await api.getConversations();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(conversations).toEqual([expect.objectContaining({ id: 'team' })]);
    await expect(api.sendMessage({ convId: 'team', text: 'hi', needReadReceipt: true })).resolves.toMatchObject({ status: 'pending' });
  });

  it('a worker started while the page is offline keeps its leftovers queued until the page says online', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const idb = new IDBFactory();
    const transports: MemoryTransport[] = [];
    const open = () => {
      const api = createWorkerApi({
        createTransport: (o) => {
          const t = new MemoryTransport(core, o.userId);
          transports.push(t);
          return t;
        },
        indexedDB: idb,
        IDBKeyRange,
      });
      const { port1, port2 } = new MessageChannel();
      Comlink.expose(api, port2);
      cleanups.push(() => {
        port1.close();
        port2.close();
      });
      return Comlink.wrap<WorkerEntryApi>(port1);
    };
    const sends = () => transports.reduce((n, t) => n + t.count('sendMessages'), 0);
    const ticks = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 5));
    };

    // First run: online long enough to learn the conversation, then offline; the message stays queued.
    const first = open();
    await first.init({ ...init, flush: { debounceMs: 0 } });
    for (let i = 0; i < 100 && (await first.getConversations()).length === 0; i++) await ticks(1);
    await first.setEnvironment({ online: false });
    await first.sendMessage({ convId: 'team', text: 'queued offline', needReadReceipt: true });
    await ticks(10);
    expect(sends()).toBe(0);
    await first.close();

    // Reload while still offline: start-up must not push the leftovers into a network the page knows is down.
    const second = open();
    await second.init({ ...init, flush: { debounceMs: 0 }, initialEnvironment: { online: false, visible: true } });
    await ticks(20);
    expect(sends()).toBe(0);

    await second.setEnvironment({ online: true });
    for (let i = 0; i < 200 && sends() === 0; i++) await ticks(1);
    expect(sends()).toBe(1);
    await second.close();
  });

  it('a database that belongs to another user is refused, and init can be retried', async () => {
    const idb = new IDBFactory();
    const core = newCore();
    const first = entry(core, idb);
    await first.init({ ...init, dbName: 'shared' });
    await first.close();
    const second = entry(core, idb);
    await expect(second.init({ ...init, userId: 'bob', dbName: 'shared' })).rejects.toMatchObject({ code: 'invalid-argument' });
    await second.init({ ...init, userId: 'bob' });
    await expect(second.getConversations()).resolves.toEqual([]);
  });
});
