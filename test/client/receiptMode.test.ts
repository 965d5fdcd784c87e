/**
 * `client.receiptMode$` and `client.setReceiptMode` (issue 10.4) through the
 * real client, Comlink and worker: the mode shows at once when set here, and
 * follows a change made on another device of mine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expose } from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
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

/** One device of bob: a started worker and a client over a MessageChannel. */
async function device(core: SyncCore): Promise<{ client: ReadSyncClient; worker: ReadSyncWorker }> {
  const db = new ReadSyncDb('readsync-bob', { indexedDB: new IDBFactory(), IDBKeyRange });
  const worker = new ReadSyncWorker({ db, transport: new MemoryTransport(core, 'bob'), userId: 'bob', flush: { debounceMs: 0 } });
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
  return { client, worker };
}

describe('receiptMode$', () => {
  it('starts public, shows a change made here at once and one made on my other device when it arrives', async () => {
    const core = new SyncCore(new MemoryStore(), { secret: 'test-secret' });
    const phone = await device(core);
    const laptop = await device(core);
    const seen = laptop.client.receiptMode$.pipe(take(3), toArray());
    const laptopModes = firstValueFrom(seen);
    expect(await firstValueFrom(phone.client.receiptMode$)).toBe('public');
    await phone.client.setReceiptMode('private');
    expect(await firstValueFrom(phone.client.receiptMode$.pipe(filter((m) => m === 'private')))).toBe('private');
    await phone.client.flush();
    await firstValueFrom(laptop.client.receiptMode$.pipe(filter((m) => m === 'private')));
    await phone.client.setReceiptMode('public');
    await phone.client.flush();
    // Distinct values only, in order: the laptop heard both changes by the event stream.
    expect(await laptopModes).toEqual(['public', 'private', 'public']);
  });

  it('refuses a mode that is neither public nor private', async () => {
    const { client } = await device(new SyncCore(new MemoryStore(), { secret: 'test-secret' }));
    await expect(client.setReceiptMode('secret' as 'private')).rejects.toMatchObject({ code: 'invalid-argument' });
  });
});
