/**
 * A small React app on readsync/react, for test/e2e/react.test.ts, rendered in
 * StrictMode (double render, effects mounted, unmounted and mounted again).
 * `?user=alice&conv=team` picks the user and the conversation; the provider
 * creates (and owns) the client, as a naive app would.
 */
import { StrictMode, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { createReadSyncClient, type ReadSyncClient } from '../../../src';
import { ReadSyncProvider } from '../../../src/react';
import { App } from './App';

declare global {
  interface Window {
    readsync?: ReadSyncClient;
    /** How many clients the provider created (StrictMode must not make it two). */
    readsyncCreated?: number;
    /** Mounts of one effect: 2 proves StrictMode's development double mount is on. */
    effectMounts?: number;
    /** Unmounts the whole app (as a sign-out would); the provider closes the client it created. */
    unmountApp?: () => void;
  }
}

const params = new URLSearchParams(location.search);
const userId = params.get('user') ?? 'alice';
const convId = params.get('conv') ?? 'team';

async function devToken(): Promise<string> {
  const res = await fetch('/v1/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
  return ((await res.json()) as { token: string }).token;
}

function createClient(): ReadSyncClient {
  const client = createReadSyncClient({
    worker: new Worker(new URL('../../../worker/index.ts', import.meta.url), { type: 'module', name: `readsync-${userId}` }),
    serverUrl: location.origin,
    userId,
    getToken: devToken,
  });
  window.readsync = client;
  window.readsyncCreated = (window.readsyncCreated ?? 0) + 1;
  return client;
}

function MountProbe() {
  useEffect(() => {
    window.effectMounts = (window.effectMounts ?? 0) + 1;
  }, []);
  return null;
}

const root = createRoot(document.getElementById('root')!);
window.unmountApp = () => root.unmount();
root.render(
  <StrictMode>
    <MountProbe />
    <ReadSyncProvider create={createClient} fallback={<p>starting…</p>}>
      <App userId={userId} convId={convId} />
    </ReadSyncProvider>
  </StrictMode>,
);
