import './style.css';
import { createReadSyncClient, type ReadSyncClient } from '../../src';
import { h } from './dom';
import { mountApp } from './App';
import { DEMO_USERS, fetchDevToken, loadSession, saveSession, type Session } from './session';

const root = document.getElementById('app') as HTMLElement;
window.readsyncCreateClient = createReadSyncClient;
const serverUrl = location.origin;

declare global {
  interface Window {
    /** The live client, for poking around in devtools (and for the e2e tests). */
    readsync?: ReadSyncClient;
    /** The library's factory, for trying the API by hand in devtools (and for the e2e tests). */
    readsyncCreateClient?: typeof createReadSyncClient;
  }
}

function showLogin(message = ''): void {
  const status = h('p', { class: 'hint', 'data-testid': 'login-status', role: 'status' }, message);
  const pick = async (userId: string): Promise<void> => {
    status.textContent = `Signing in as ${userId}…`;
    try {
      const session = await fetchDevToken(serverUrl, userId);
      saveSession(session);
      start(session);
    } catch (err) {
      status.textContent = signInProblem(err);
      status.dataset.reason = navigator.onLine ? 'server' : 'offline';
    }
  };
  root.replaceChildren(
    h(
      'main',
      { class: 'login', 'data-testid': 'login' },
      h('h1', {}, 'readsync demo'),
      h('p', {}, 'Pick a user. Open a second window as someone else to play both sides.'),
      h('div', { class: 'users' }, ...DEMO_USERS.map((u) => h('button', { type: 'button', 'data-testid': `user-${u}`, onclick: () => void pick(u) }, u))),
      status,
    ),
  );
}

/** Why signing in failed, in the user's terms: offline is not a server fault. */
function signInProblem(err: unknown): string {
  if (!navigator.onLine) return 'You are offline. Signing in needs the network once; after that the demo works offline too. Connect and pick a user again.';
  if (err instanceof TypeError) return 'Could not reach the readsync server. Is it running (npm start), and is this device online?';
  return `The server refused the sign-in: ${(err as Error).message}.`;
}

function start(session: Session): void {
  const worker = new Worker(new URL('../../worker/index.ts', import.meta.url), { type: 'module', name: `readsync-${session.userId}` });
  const client = createReadSyncClient({
    worker,
    serverUrl,
    userId: session.userId,
    token: session.token,
    // When the server refuses the stored token (expired, or the server's secret changed), ask for a new one.
    // A real app calls its own login/refresh here.
    getToken: async () => {
      const fresh = await fetchDevToken(serverUrl, session.userId);
      saveSession(fresh);
      return fresh.token;
    },
  });
  window.readsync = client;
  const unmount = mountApp(root, client, session, {
    // The "Sign in again" of the expired-sign-in banner. A real app runs its own login here.
    async onSignInAgain() {
      if (!navigator.onLine) throw new Error('You are offline: sign in again once the network is back.');
      const fresh = await fetchDevToken(serverUrl, session.userId);
      saveSession(fresh);
      await client.setToken(fresh.token);
    },
    async onSwitchUser() {
      unmount();
      window.readsync = undefined;
      await client.close();
      saveSession(null);
      showLogin();
    },
  });
}

const session = loadSession();
if (session) start(session);
else showLogin();
