import type { SyncStatus } from '../../src';
import { h } from './dom';

const CONNECTION: Record<SyncStatus['connection'], string> = {
  online: 'Online',
  offline: 'Offline',
  connecting: 'Connecting…',
  'needs-auth': 'Sign-in expired',
};

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The sync badge in the header ("Offline · 3 reads queued"), and the banner
 * under it when the server refused the sign-in: what happened, that nothing
 * is lost, and a way to sign in again. `data-connection` and
 * `data-pending-acks` carry the raw values (the e2e tests read them).
 */
export function createSyncBadge(onSignInAgain: () => Promise<void>): { badge: HTMLElement; banner: HTMLElement; render(s: SyncStatus): void; fail(code: string): void } {
  const badge = h('span', { class: 'badge', 'data-testid': 'sync-badge', role: 'status' }, '…');
  const text = h('p', {});
  const again = h('button', { type: 'button', class: 'primary' }, 'Sign in again');
  const banner = h('div', { class: 'banner', 'data-testid': 'auth-banner', role: 'alert', hidden: true }, text, again);
  again.addEventListener('click', () => {
    again.disabled = true;
    onSignInAgain().finally(() => (again.disabled = false));
  });

  return {
    badge,
    banner,
    render(s) {
      badge.dataset.connection = s.connection;
      badge.dataset.pendingAcks = String(s.pendingAcks);
      badge.className = `badge ${s.connection}`;
      const wrongUser = s.connection === 'needs-auth' && s.lastError?.code === 'wrong-user';
      const parts = [wrongUser ? 'Signed in as someone else' : CONNECTION[s.connection]];
      if (s.pendingAcks > 0) parts.push(count(s.pendingAcks, 'read queued', 'reads queued'));
      if (s.pendingMessages > 0) parts.push(count(s.pendingMessages, 'message queued', 'messages queued'));
      if (s.rejectedAcks + s.failedMessages > 0) parts.push(`${s.rejectedAcks + s.failedMessages} failed`);
      badge.textContent = parts.join(' · ');
      badge.title = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : s.leader ? 'this tab syncs' : 'another tab syncs';

      banner.hidden = s.connection !== 'needs-auth';
      if (!banner.hidden) {
        const kept = [count(s.pendingAcks, 'read', 'reads'), count(s.pendingMessages, 'message', 'messages')].join(' and ');
        text.textContent = `${wrongUser ? 'The server says this sign-in belongs to another user.' : 'The server no longer accepts your sign-in (it expired or was revoked).'} Nothing is lost: ${kept} are kept on this device and go out once you sign in again.`;
      }
    },
    fail(code) {
      // The status stream errors only when the worker is gone (worker-failed); a closed client completes it.
      badge.className = 'badge failed';
      badge.dataset.connection = code;
      badge.textContent = code === 'worker-failed' ? 'Sync stopped' : code;
    },
  };
}
