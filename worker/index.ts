/**
 * The browser worker entry (`readsync/worker`). Loaded as a module Worker, it
 * exposes a `WorkerEntryApi` with Comlink on its global scope; the client
 * calls `init(...)` first. Embedding code and tests import the parts instead:
 * `ReadSyncWorker` (the composition root) or `createWorkerApi`.
 */
import * as Comlink from 'comlink';
import { installErrorTransfer, type WorkerInitOptions } from '../src/bridge';
import { WorkerEntry, type WorkerEntryDeps } from './WorkerEntry';
import { HttpTransport } from './transport/HttpTransport';
import type { Transport } from './transport/Transport';

export { ReadSyncWorker, type ReadSyncWorkerOptions } from './ReadSyncWorker';
export { WorkerEntry, type WorkerEntryDeps } from './WorkerEntry';
export { ReadSyncDb } from './db/ReadSyncDb';
export type { Transport } from './transport/Transport';
export { HttpTransport, type HttpTransportOptions } from './transport/HttpTransport';

/** The transport of the browser entry: HTTP + WebSocket to `serverUrl` with the bearer token. */
function createHttpTransport(options: WorkerInitOptions): Transport {
  return new HttpTransport({ serverUrl: options.serverUrl, token: options.token, userId: options.userId });
}

/** A `WorkerEntryApi` (init + WorkerApi) with the given parts; the browser entry uses the HTTP transport. */
export function createWorkerApi(deps: Partial<WorkerEntryDeps> = {}): WorkerEntry {
  return new WorkerEntry({ createTransport: createHttpTransport, ...deps });
}

declare const WorkerGlobalScope: { new (): unknown } | undefined;

// Expose only when actually running as a worker, so importing this module
// in Node (tests) or on the UI thread has no side effects.
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined' && self instanceof WorkerGlobalScope) {
  installErrorTransfer({ wrapAll: true });
  Comlink.expose(createWorkerApi());
}
