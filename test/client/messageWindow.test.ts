/**
 * The message window made explicit (issue 11.6): `messages$` keeps its shape
 * (the newest 100 by default, now documented), `messageWindow$` says how
 * many and whether older ones exist, and `loadOlder` grows what a window can
 * show, through the real client and worker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expose } from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { firstValueFrom, filter } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { ReadSyncWorker } from '../../worker/ReadSyncWorker';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const id = (n: number) => `win${String(n).padStart(8, '0')}`;

async function world(total: number): Promise<{ core: SyncCore; client: ReadSyncClient }> {
  const core = new SyncCore(new MemoryStore(), { secret: 'test-secret' });
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
  for (let i = 1; i <= total; i += 100) {
    const messages = Array.from({ length: Math.min(100, total - i + 1) }, (_, k) => ({ id: id(i + k), convId: 'team', text: `m${i + k}`, needReadReceipt: false, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
  const db = new ReadSyncDb('readsync-bob', { indexedDB: new IDBFactory(), IDBKeyRange });
  const worker = new ReadSyncWorker({ db, transport: new MemoryTransport(core, 'bob'), userId: 'bob', flush: { debounceMs: 0 }, historyWindow: 150 });
  await worker.start();
  await worker.engine.idle();
  const { port1, port2 } = new MessageChannel();
  expose(worker, port1);
  const client = createReadSyncClient({ worker: port2, userId: 'bob', token: 'unused', serverUrl: 'memory:', environment: false });
  cleanup.push(async () => {
    await client.close();
    await worker.close();
    port1.close();
    port2.close();
  });
  return { core, client };
}

describe('the message window', () => {
  it('messages$ without a limit is the newest 100, as an array, oldest first', async () => {
    const { client } = await world(150);
    const list = await firstValueFrom(client.messages$('team').pipe(filter((l) => l.length > 0)));
    expect(list).toHaveLength(100);
    expect(list[0]?.id).toBe(id(51));
    expect(list.at(-1)?.id).toBe(id(150));
  });

  it('messageWindow$ says how many it shows, its limit, and whether older messages exist', async () => {
    const { client } = await world(150);
    const w = await firstValueFrom(client.messageWindow$('team', { limit: 120 }).pipe(filter((x) => x.messages.length > 0)));
    expect(w).toMatchObject({ convId: 'team', limit: 120, hasOlder: true });
    expect(w.messages).toHaveLength(120);
    const all = await firstValueFrom(client.messageWindow$('team', { limit: 500 }).pipe(filter((x) => x.messages.length > 0)));
    expect(all.messages).toHaveLength(150);
    expect(all.hasOlder).toBe(false);
    const def = await firstValueFrom(client.messageWindow$('team').pipe(filter((x) => x.messages.length > 0)));
    expect(def.limit).toBe(100);
  });

  it('a window over a history synced only in part grows as loadOlder brings older pages', async () => {
    const { client } = await world(400);
    const first = await firstValueFrom(client.messageWindow$('team', { limit: 200 }).pipe(filter((x) => x.messages.length > 0)));
    expect(first.messages).toHaveLength(150); // the newest window the worker synced
    expect(first.hasOlder).toBe(true);
    const page = await client.loadOlder('team', { count: 50, before: first.messages[0]! });
    expect(page.messages.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => id(201 + i)));
    expect(page.hasOlder).toBe(true);
    await vi.waitFor(async () => {
      const grown = await firstValueFrom(client.messageWindow$('team', { limit: 200 }));
      expect(grown.messages).toHaveLength(200);
      expect(grown.messages[0]?.id).toBe(id(201));
    });
    await expect(client.loadOlder('team', { count: -1 })).rejects.toMatchObject({ code: 'invalid-argument' });
  });
});
