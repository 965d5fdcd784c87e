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
  const status = h('p', { class: 'hint', 'data-testid': 'login-status' }, message);
  const pick = async (userId: string): Promise<void> => {
    status.textContent = `Signing in as ${userId}…`;
    try {
      const session = await fetchDevToken(serverUrl, userId);
      saveSession(session);
      start(session);
    } catch (err) {
      status.textContent = `Could not sign in: ${(err as Error).message}. Is the server running (npm start)?`;
    }
  };
  root.replaceChildren(
    h(
      'main',
      { class: 'login', 'data-testid': 'login' },
      h('h1', {}, 'readsync demo'),
      h('p', {}, 'Pick a user. Open a second window as someone else to play both sides.'),
      h('div', { class: 'users' }, ...DEMO_USERS.map((u) => h('button', { 'data-testid': `user-${u}`, onclick: () => void pick(u) }, u))),
      status,
    ),
  );
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
