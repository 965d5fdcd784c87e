/**
 * readsync on the peers' shapes: the public client → Comlink → the bench's
 * worker entry (BenchTransport: no network) → Dexie in the worker. The
 * messages are stored in the worker's IndexedDB (`receiveMessages`, mine,
 * 5 recipients); one `readState$` per message; updates are `receipts`
 * events injected into the worker's event stream (the path a WebSocket
 * frame takes), as the injected burst does. The worker applies them to
 * IndexedDB with strict durability and posts the read states to the page.
 */
import { wrap } from 'comlink';
import { firstValueFrom, type Subscription } from 'rxjs';
import { createReadSyncClient } from '../../../src/client';
import type { BenchExtras } from '../libWorker';
import { makeMessages, makeReceipt } from '../fixtures';
import { deleteDb } from '../rawIdb';
import { eachUntil, type Peer, type PeerSession } from './PeerSession';

export const readsyncPeer: Peer = {
  key: 'readsync',
  name: 'readsync readState$ (worker, durable)',
  async open(tag, rows) {
    const dbName = `peer-readsync-${tag}`;
    await deleteDb(dbName);
    const worker = new Worker(new URL('./readsyncPeerWorker.ts', import.meta.url), { type: 'module' });
    worker.addEventListener('error', (e) => console.error(`readsync peer worker error: ${e.message}`));
    const client = createReadSyncClient({ worker, userId: 'me', token: 'bench', serverUrl: 'bench://local', dbName, flush: { debounceMs: 3_600_000, intervalMs: 3_600_000 }, environment: false });
    const extras = wrap<BenchExtras>(worker);
    const messages = makeMessages(tag, rows.length, 'g-peers', 'me', 5);
    const idle = async () => {
      await firstValueFrom(client.syncStatus$);
      await extras.benchIdle();
    };
    await client.receiveMessages(messages);
    await idle();
    const subs: Subscription[] = [];
    const session: PeerSession = {
      dbMatch: dbName,
      subscribe(onValue, deadline) {
        return eachUntil(messages, deadline, (m, i) => {
          subs.push(client.readState$(m.id).subscribe((s) => s && onValue(i, s.readCount)));
        });
      },
      async prepare(indices, readCount) {
        const now = Date.now();
        await extras.benchPrepareReceipts(indices.map((i) => makeReceipt(messages[i] as (typeof messages)[number], readCount, now)));
        return () => extras.benchFireReceipts();
      },
      settle: idle,
      async close() {
        for (const s of subs) s.unsubscribe();
        await client.close();
        worker.terminate();
        await deleteDb(dbName);
      },
    };
    return session;
  },
};
