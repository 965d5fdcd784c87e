import { Subscription } from 'rxjs';
import type { Conversation, ReadSyncClient, SyncStatus } from '../../src';
import { h } from './dom';
import { mountConversation } from './ConversationView';
import type { Session } from './session';

/** Header (user, sync badge), conversation list, and the open conversation. Returns the unmount function. */
export function mountApp(root: HTMLElement, client: ReadSyncClient, session: Session, actions: { onSwitchUser(): void }): () => void {
  const subs = new Subscription();
  const badge = h('span', { class: 'badge', 'data-testid': 'sync-badge' }, '…');
  const toast = h('div', { class: 'toast', 'data-testid': 'toast', hidden: true });
  const list = h('ul', { class: 'conversations', 'data-testid': 'conversation-list' });
  const pane = h('section', { class: 'pane' }, h('p', { class: 'hint' }, 'Pick a conversation.'));
  root.replaceChildren(
    h(
      'div',
      { class: 'shell' },
      h(
        'header',
        {},
        h('strong', {}, 'readsync'),
        h('span', { class: 'me', 'data-testid': 'current-user' }, session.userId),
        badge,
        h('button', { class: 'link', 'data-testid': 'switch-user', onclick: () => actions.onSwitchUser() }, 'switch user'),
      ),
      h('nav', {}, list),
      pane,
      toast,
    ),
  );

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  const showError = (err: unknown): void => {
    const e = err as { code?: string; message?: string };
    toast.textContent = e.code ? `${e.code}: ${e.message ?? ''}` : String(e.message ?? err);
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), 6000);
  };
  subs.add(client.error$.subscribe(showError));
  subs.add(
    client.syncStatus$.subscribe({
      next: (s) => renderBadge(badge, s),
      error: (err: { code?: string }) => {
        // The status stream ends only when the worker is gone (worker-failed) or the client closed.
        badge.className = 'badge failed';
        badge.dataset.connection = err.code ?? 'failed';
        badge.textContent = err.code ?? 'failed';
        showError(err);
      },
    }),
  );

  let conversations: Conversation[] = [];
  let closeConversation: (() => void) | null = null;
  let openId: string | null = null;
  const open = (id: string | null): void => {
    const conv = conversations.find((c) => c.id === id);
    if (!conv || id === openId) return;
    closeConversation?.();
    openId = id;
    history.replaceState(null, '', `#${encodeURIComponent(conv.id)}`);
    closeConversation = mountConversation(pane, client, session, conv, showError);
    for (const li of list.children) li.classList.toggle('active', (li as HTMLElement).dataset.convId === id);
  };
  subs.add(
    client.conversations$.subscribe({
      next(convs) {
        conversations = convs ?? [];
        list.replaceChildren(
          ...conversations.map((c) =>
            h(
              'li',
              { 'data-testid': 'conversation', 'data-conv-id': c.id, class: c.id === openId ? 'active' : undefined, onclick: () => open(c.id) },
              h('span', { class: 'name' }, c.name || c.id),
              h('small', {}, c.type === 'c2c' ? 'direct' : `${c.groupType ?? 'group'} · ${c.memberCount} members`),
            ),
          ),
        );
        if (openId === null) open(decodeURIComponent(location.hash.slice(1)) || null);
      },
      error: showError,
    }),
  );

  return () => {
    subs.unsubscribe();
    closeConversation?.();
    clearTimeout(toastTimer);
  };
}

function renderBadge(badge: HTMLElement, s: SyncStatus | null): void {
  if (!s) return;
  badge.dataset.connection = s.connection;
  badge.dataset.pendingAcks = String(s.pendingAcks);
  badge.className = `badge ${s.connection}`;
  const parts = [s.connection, `${s.pendingAcks} pending`];
  if (s.pendingMessages > 0) parts.push(`${s.pendingMessages} unsent`);
  if (s.rejectedAcks + s.failedMessages > 0) parts.push(`${s.rejectedAcks + s.failedMessages} failed`);
  badge.textContent = parts.join(' · ');
  badge.title = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : s.leader ? 'this tab syncs' : 'another tab syncs';
}
