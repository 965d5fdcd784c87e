import { Subscription } from 'rxjs';
import type { ConversationSummary, ReadSyncClient } from '../../src';
import { h } from './dom';
import { mountConversation } from './ConversationView';
import { markOpen, renderConversationList } from './ConversationList';
import { createSyncBadge } from './SyncBadge';
import type { Session } from './session';

export interface AppActions {
  onSwitchUser(): void;
  /** Gets a new token after the server refused the old one. */
  onSignInAgain(): Promise<void>;
}

/**
 * Header (user, sync badge, switch user), the sign-in banner, the conversation
 * list and the open conversation. On a narrow screen the list and the
 * conversation are two views (`data-view` on the shell; CSS does the rest).
 * Returns the unmount function.
 */
export function mountApp(root: HTMLElement, client: ReadSyncClient, session: Session, actions: AppActions): () => void {
  const subs = new Subscription();
  const toast = h('div', { class: 'toast', 'data-testid': 'toast', role: 'status', hidden: true });
  const list = h('ul', { class: 'conversations', 'data-testid': 'conversation-list' });
  const pane = h('section', { class: 'pane' });
  const status = createSyncBadge(async () => actions.onSignInAgain().catch(showError));
  // Private reads: my reads still clear my unread counts on all my devices, but no sender learns of them.
  const privateReads = h('input', { type: 'checkbox', 'data-testid': 'private-reads' });
  privateReads.addEventListener('change', () => {
    client.setReceiptMode(privateReads.checked ? 'private' : 'public').catch(showError);
  });
  const shell = h(
    'div',
    { class: 'shell', 'data-view': 'list' },
    h(
      'header',
      { class: 'topbar' },
      h('h1', { class: 'brand' }, 'readsync'),
      h('span', { class: 'me', 'data-testid': 'current-user' }, session.userId),
      status.badge,
      h('button', { type: 'button', class: 'link', 'data-testid': 'switch-user', onclick: () => actions.onSwitchUser() }, 'Switch user'),
    ),
    status.banner,
    h(
      'main',
      { class: 'body' },
      h(
        'nav',
        { 'aria-label': 'Conversations' },
        h('label', { class: 'private-reads', title: 'Senders are not told when you read their messages' }, privateReads, ' Private reads'),
        list,
      ),
      pane,
    ),
    toast,
  );
  root.replaceChildren(shell);

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  function showError(err: unknown): void {
    const e = err as { code?: string; message?: string };
    toast.textContent = e.code ? `${e.code}: ${e.message ?? ''}` : String(e.message ?? err);
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), 6000);
  }
  subs.add(client.error$.subscribe(showError));
  subs.add(client.receiptMode$.subscribe((mode) => (privateReads.checked = mode === 'private')));
  subs.add(
    client.syncStatus$.subscribe({
      next: (s) => status.render(s),
      error: (err: { code?: string }) => {
        status.fail(err.code ?? 'failed');
        showError(err);
      },
    }),
  );

  let conversations: ConversationSummary[] = [];
  let closeConversation: (() => void) | null = null;
  let openId: string | null = null;
  const showList = (): void => {
    closeConversation?.();
    closeConversation = null;
    const was = openId;
    openId = null;
    history.replaceState(null, '', location.pathname + location.search);
    pane.replaceChildren(h('p', { class: 'hint' }, 'Pick a conversation.'));
    shell.dataset.view = 'list';
    markOpen(list, null);
    list.querySelector<HTMLElement>(`[data-conv-id="${CSS.escape(was ?? '')}"]`)?.focus();
  };
  const open = (id: string | null): void => {
    const conv = conversations.find((c) => c.id === id);
    if (!conv || id === openId) return;
    closeConversation?.();
    openId = conv.id;
    history.replaceState(null, '', `#${encodeURIComponent(conv.id)}`);
    closeConversation = mountConversation(pane, client, session, conv, { showError, onBack: showList });
    shell.dataset.view = 'conversation';
    markOpen(list, openId);
  };
  pane.replaceChildren(h('p', { class: 'hint' }, 'Pick a conversation.'));
  subs.add(
    client.conversations$.subscribe({
      next(convs) {
        conversations = convs ?? [];
        renderConversationList(list, conversations, openId, open);
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
