import type { EnvironmentSignal } from '../bridge';

/** The bits of `window` and `document` the client listens to; injectable for tests. */
export interface ClientEnvironment {
  /** Fires 'online' and 'offline'; `navigator.onLine` gives the state at start. */
  window?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & { navigator?: { onLine?: boolean } };
  /** Fires 'visibilitychange'; `visibilityState` tells which way. */
  document?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & { visibilityState?: string };
}

/** The UI thread's window/document when there are any (not in Node or inside a worker). */
export function defaultEnvironment(): ClientEnvironment {
  const g = globalThis as { window?: ClientEnvironment['window']; document?: ClientEnvironment['document'] };
  const env: ClientEnvironment = {};
  if (g.window && typeof g.window.addEventListener === 'function') env.window = g.window;
  if (g.document && typeof g.document.addEventListener === 'function') env.document = g.document;
  return env;
}

/** The environment as the page sees it now (fields it cannot tell are left out). */
export function currentEnvironment(env: ClientEnvironment): EnvironmentSignal {
  const out: EnvironmentSignal = {};
  const onLine = env.window?.navigator?.onLine;
  if (typeof onLine === 'boolean') out.online = onLine;
  if (env.document?.visibilityState !== undefined) out.visible = env.document.visibilityState === 'visible';
  return out;
}

/**
 * Forwards online/offline and page visibility to the worker: these events do
 * not fire inside a Chromium worker, yet they are what triggers a flush when
 * the network or the user comes back. Sends the current state first. Returns
 * the function that removes the listeners.
 */
export function forwardEnvironment(env: ClientEnvironment, send: (signal: EnvironmentSignal) => void): () => void {
  const { window: win, document: doc } = env;
  const initial = currentEnvironment(env);
  if (initial.online !== undefined || initial.visible !== undefined) send(initial);

  const online = (): void => send({ online: true });
  const offline = (): void => send({ online: false });
  const visibility = (): void => send({ visible: doc?.visibilityState === 'visible' });
  win?.addEventListener('online', online);
  win?.addEventListener('offline', offline);
  doc?.addEventListener('visibilitychange', visibility);
  return () => {
    win?.removeEventListener('online', online);
    win?.removeEventListener('offline', offline);
    doc?.removeEventListener('visibilitychange', visibility);
  };
}
