/**
 * The browser worker entry (`readsync/worker`). Loaded as a module Worker, it
 * exposes a `WorkerEntryApi` with Comlink on its global scope; the client
 * calls `init(...)` first. Embedding code and tests import the parts instead:
 * `ReadSyncWorker` (the composition root) or `createWorkerApi`.
 */
import * as Comlink from 'comlink';
import { ReadSyncError } from '../src/protocol';
import { installErrorTransfer, type WorkerInitOptions } from '../src/bridge';
import { WorkerEntry, type WorkerEntryDeps } from './WorkerEntry';
import type { Transport } from './transport/Transport';

export { ReadSyncWorker, type ReadSyncWorkerOptions } from './ReadSyncWorker';
export { WorkerEntry, type WorkerEntryDeps } from './WorkerEntry';
export { ReadSyncDb } from './db/ReadSyncDb';
export type { Transport } from './transport/Transport';

/**
 * The transport of the browser entry: HTTP + WebSocket to `serverUrl`.
 * TODO(readsync): construct worker/transport/HttpTransport here once it lands
 * (the server helper writes it); until then the entry refuses to start with a
 * clear error instead of failing to build.
 */
function createHttpTransport(_options: WorkerInitOptions): Transport {
  throw new ReadSyncError('internal', 'HttpTransport is not available in this build');
}

/** A `WorkerEntryApi` (init + WorkerApi) with the given parts; the browser entry uses the HTTP transport. */
export function createWorkerApi(deps: Partial<WorkerEntryDeps> = {}): WorkerEntry {
  return new WorkerEntry({ createTransport: createHttpTransport, ...deps });
}

declare const WorkerGlobalScope: { new (): unknown } | undefined;

// Expose only when actually running as a worker, so importing this module
// in Node (tests) or on the UI thread has no side effects.
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined' && self instanceof WorkerGlobalScope) {
  installErrorTransfer();
  Comlink.expose(createWorkerApi());
}
