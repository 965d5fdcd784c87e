import { proxy, releaseProxy, wrap, type Endpoint } from 'comlink';
import { unpackUpdates, type SubscriptionUpdate, type UpdateBatch, type WorkerEntryApi, type WorkerInitOptions } from '../bridge';
import { installErrorTransfer } from '../bridge';
import { ValidationError } from '../protocol';
import { ReadSyncClient, type ClientLink } from './ReadSyncClient';
import { currentEnvironment, defaultEnvironment, forwardEnvironment, type ClientEnvironment } from './forwardEnvironment';

/** Options of `createReadSyncClient`. */
export interface ReadSyncClientOptions extends WorkerInitOptions {
  /**
   * The readsync worker: its script URL (the client creates and owns a module
   * Worker), a Worker you created (the client owns it from now on), or any
   * Comlink endpoint exposing the worker API (borrowed: not initialised, not
   * closed by the client; used by tests and custom hosts).
   */
  worker: Worker | URL | string | Endpoint;
  /** Whether to call the worker's `init(options)` first. Default: true for a Worker or URL, false for other endpoints. */
  init?: boolean;
  /** Where online/offline/visibility events come from. Default: the page's window and document; `false` to forward nothing. */
  environment?: ClientEnvironment | false;
}

/**
 * Creates the UI-thread client:
 *
 * ```ts
 * const client = createReadSyncClient({
 *   worker: new URL('readsync/worker', import.meta.url),
 *   serverUrl: 'https://chat.example.com', userId: 'alice', token,
 * });
 * client.readState$(messageId).subscribe((s) => render(s?.label));
 * ```
 */
export function createReadSyncClient(options: ReadSyncClientOptions): ReadSyncClient {
  installErrorTransfer();
  const { worker } = options;
  const isWorker = typeof Worker !== 'undefined' && worker instanceof Worker;
  const owned = typeof worker === 'string' || worker instanceof URL || isWorker;
  const endpoint: Endpoint = typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
  const api = wrap<WorkerEntryApi>(endpoint);
  const doInit = options.init ?? owned;

  let dispatch: ((updates: SubscriptionUpdate[]) => void) | null = null;
  const sink = proxy((batch: UpdateBatch) => dispatch?.(unpackUpdates(batch)));
  const env = options.environment === false ? null : (options.environment ?? defaultEnvironment());
  const ready = (async () => {
    if (doInit) await api.init({ ...initOptions(options), ...(env ? { initialEnvironment: currentEnvironment(env) } : {}) });
    await api.attach(sink);
  })();

  const link: ClientLink = {
    api: api as unknown as ClientLink['api'],
    ready,
    connect(d) {
      dispatch = d;
    },
    async dispose() {
      dispatch = null;
      if (owned) await api.close().catch(() => undefined);
      api[releaseProxy]();
      if (owned && 'terminate' in endpoint && typeof endpoint.terminate === 'function') endpoint.terminate();
    },
  };
  const client = new ReadSyncClient(link);

  if (env) {
    const stop = forwardEnvironment(env, (signal) => {
      // A failed start-up is reported once, by the client; only the signal's own failure is reported here.
      ready.then(
        () => api.setEnvironment(signal).catch((err: unknown) => client.reportError(err)),
        () => undefined,
      );
    });
    client.onClose(stop);
  }
  return client;
}

function initOptions(o: ReadSyncClientOptions): WorkerInitOptions {
  for (const k of ['userId', 'token', 'serverUrl'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new ValidationError(`createReadSyncClient: ${k} must be a non-empty string`);
  }
  const out: WorkerInitOptions = { userId: o.userId, token: o.token, serverUrl: o.serverUrl };
  if (o.dbName !== undefined) out.dbName = o.dbName;
  if (o.flush !== undefined) out.flush = o.flush;
  return out;
}
