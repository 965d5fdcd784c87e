import { proxy, releaseProxy, wrap, type Endpoint } from 'comlink';
import type { SubscriptionUpdate, UpdateBatch, WorkerEntryApi, WorkerInitOptions } from '../bridge';
import { installErrorTransfer } from '../bridge';
import { ReadSyncError, ValidationError, type ErrorPayload } from '../protocol';
import { ReadSyncClient, type ClientLink } from './ReadSyncClient';
import { currentEnvironment, defaultEnvironment, forwardEnvironment, type ClientEnvironment } from './forwardEnvironment';
import { TokenSource } from './TokenSource';
import { UpdateDispatcher } from './UpdateDispatcher';

/** Options of `createReadSyncClient`. */
export interface ReadSyncClientOptions extends Omit<WorkerInitOptions, 'token'> {
  /** A bearer token for the sync server. Optional when `getToken` is given. */
  token?: string;
  /**
   * Gets a bearer token from the app (your login/refresh logic): called at
   * start when no `token` is given, and whenever the server refuses the
   * current one (401, or the event stream closed because the token expired).
   * Meanwhile `syncStatus$` shows `connection: 'needs-auth'` and the queue is
   * kept; repeated refusals back off up to a minute. Without it, call
   * `client.setToken()` yourself when you see 'needs-auth'.
   */
  getToken?: () => string | Promise<string>;
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
  /**
   * How long the worker may take to load and answer its first call (ms)
   * before the client gives up on it with `worker-failed`. Default 20,000:
   * generous, because opening IndexedDB can wait on another tab's upgrade.
   */
  startTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 20_000;

/**
 * Creates the UI-thread client:
 *
 * ```ts
 * // readsync.worker.ts in your app holds one line: import 'readsync/worker';
 * const client = createReadSyncClient({
 *   worker: new Worker(new URL('./readsync.worker.ts', import.meta.url), { type: 'module' }),
 *   serverUrl: 'https://chat.example.com', userId: 'alice', token,
 * });
 * client.readState$(messageId).subscribe((s) => render(s?.label));
 * ```
 *
 * (`new URL('readsync/worker', import.meta.url)` does not work: it is a URL
 * relative to your module, not a package import, so the worker 404s.)
 *
 * If the worker fails to load (a wrong URL, a 404 among its imports), crashes,
 * or does not answer within `startTimeoutMs`, every call rejects and every
 * observable errors with code `worker-failed`, and `error$` says so once.
 */
export function createReadSyncClient(options: ReadSyncClientOptions): ReadSyncClient {
  installErrorTransfer();
  const tokens = new TokenSource(options.token, options.getToken);
  const { worker } = options;
  const isWorker = typeof Worker !== 'undefined' && worker instanceof Worker;
  const owned = typeof worker === 'string' || worker instanceof URL || isWorker;
  const endpoint: Endpoint = typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
  const api = wrap<WorkerEntryApi>(endpoint);
  const doInit = options.init ?? owned;

  let dispatch: ((updates: SubscriptionUpdate[]) => void) | null = null;
  let onFailure: ((err: ReadSyncError) => void) | null = null;
  let onAuthRefused: ((error: ErrorPayload) => void) | null = null;
  const authSignal = proxy((error: ErrorPayload) => onAuthRefused?.(error));
  let failure: ReadSyncError | null = null;
  let failStart: (err: ReadSyncError) => void = () => undefined;
  const fail = (err: ReadSyncError) => {
    if (failure) return;
    failure = err;
    failStart(err);
    onFailure?.(err);
  };
  const stopWatching = watchWorker(endpoint, fail);
  // Large batches reach the subscribers a frame's budget at a time (no long main-thread task).
  const updates = new UpdateDispatcher((u) => dispatch?.(u));
  const sink = proxy((batch: UpdateBatch) => updates.push(batch));
  const env = options.environment === false ? null : (options.environment ?? defaultEnvironment());
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  // Settles with the start, or rejects with worker-failed when the worker fails first or takes too long.
  const startWorker = (token: string) => new Promise<void>((resolve, reject) => {
    if (failure) return reject(failure);
    const timer = setTimeout(
      () => fail(new ReadSyncError('worker-failed', `the readsync worker did not answer within ${timeoutMs} ms (a wrong worker URL, or a script that does not import 'readsync/worker')`)),
      timeoutMs,
    );
    failStart = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    (async () => {
      if (doInit) await api.init({ ...initOptions(options, token), ...(env ? { initialEnvironment: currentEnvironment(env) } : {}) });
      await api.attach(sink, authSignal);
    })().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });

  // The app's getToken may take its time (a login refresh): the worker's start timer runs after it.
  const ready = (doInit ? tokens.initial() : Promise.resolve('')).then((token) => startWorker(token));

  const link: ClientLink = {
    api: api as unknown as ClientLink['api'],
    ready,
    connect(d, f) {
      dispatch = d;
      onFailure = f;
    },
    onAuthRefused(handler) {
      onAuthRefused = handler;
    },
    async dispose() {
      dispatch = null;
      updates.stop();
      stopWatching();
      // A failed worker never answers: do not wait for it to close.
      if (owned && !failure) await api.close().catch(() => undefined);
      api[releaseProxy]();
      if (owned && 'terminate' in endpoint && typeof endpoint.terminate === 'function') endpoint.terminate();
    },
  };
  const client = new ReadSyncClient(link, tokens);

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

function initOptions(o: ReadSyncClientOptions, token: string): WorkerInitOptions {
  for (const k of ['userId', 'serverUrl'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new ValidationError(`createReadSyncClient: ${k} must be a non-empty string`);
  }
  const out: WorkerInitOptions = { userId: o.userId, token, serverUrl: o.serverUrl };
  if (o.dbName !== undefined) out.dbName = o.dbName;
  if (o.flush !== undefined) out.flush = o.flush;
  return out;
}

/** Reports a Worker's `error` (failed to load, uncaught error) and `messageerror` events as `worker-failed`. */
function watchWorker(endpoint: Endpoint, fail: (err: ReadSyncError) => void): () => void {
  if (typeof Worker === 'undefined' || !(endpoint instanceof Worker)) return () => undefined;
  const onError = (ev: Event) => {
    const detail = typeof ErrorEvent !== 'undefined' && ev instanceof ErrorEvent && ev.message ? `: ${ev.message}` : '';
    fail(
      new ReadSyncError(
        'worker-failed',
        `the readsync worker failed${detail}. Check the worker URL: it must load a script that imports 'readsync/worker' (see the README), and that script's imports must load`,
      ),
    );
  };
  const onMessageError = () => fail(new ReadSyncError('worker-failed', 'the readsync worker sent a message that could not be deserialised'));
  endpoint.addEventListener('error', onError);
  endpoint.addEventListener('messageerror', onMessageError);
  return () => {
    endpoint.removeEventListener('error', onError);
    endpoint.removeEventListener('messageerror', onMessageError);
  };
}
