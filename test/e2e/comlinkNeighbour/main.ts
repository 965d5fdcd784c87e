// A page that uses Comlink for its own worker and also creates a readsync client
// (which installs readsync's Comlink error handler). The e2e test compares how
// the app worker's error arrives before and after.
import * as Comlink from 'comlink';
import { createReadSyncClient } from '../../../src';

interface Seen {
  isError: boolean;
  ctor: string;
  name: unknown;
  message: unknown;
  code: unknown;
}

const app = Comlink.wrap<{ typeError(): void }>(new Worker(new URL('./appWorker.ts', import.meta.url), { type: 'module' }));

function seen(e: unknown): Seen {
  const o = e as { constructor?: { name?: string }; name?: unknown; message?: unknown; code?: unknown };
  return { isError: e instanceof Error, ctor: o?.constructor?.name ?? typeof e, name: o?.name, message: o?.message, code: o?.code };
}

async function run(): Promise<{ before: Seen; after: Seen }> {
  const before = await app.typeError().then(() => null as never, seen);
  // A client on a borrowed endpoint: enough to install readsync's handler in this page.
  const { port2 } = new MessageChannel();
  const client = createReadSyncClient({ worker: port2, userId: 'bob', token: 't', serverUrl: location.origin, environment: false, init: false });
  const after = await app.typeError().then(() => null as never, seen);
  void client.close();
  return { before, after };
}

declare global {
  interface Window {
    runNeighbourCheck?: () => Promise<{ before: Seen; after: Seen }>;
  }
}
window.runNeighbourCheck = run;
document.getElementById('status')!.textContent = 'ready';
