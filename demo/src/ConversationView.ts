import { Subscription } from 'rxjs';
import { createReadTracker, hasErrorCode, type Conversation, type MessageWindow, type ReadSyncClient, type SyncStatus } from '../../src';
import { h } from './dom';
import { createMessageRow, type MessageRow } from './MessageRow';
import type { Session } from './session';

export interface ConversationHandlers {
  showError(e: unknown): void;
  /** "Back" to the conversation list (narrow screens show one or the other). */
  onBack(): void;
}

/** The open conversation: a header with "back", the message list with live receipt lines, and the compose box. Returns the unmount function. */
export function mountConversation(pane: HTMLElement, client: ReadSyncClient, session: Session, conv: Conversation, handlers: ConversationHandlers): () => void {
  const { showError } = handlers;
  const subs = new Subscription();
  // Focusable, so that keyboard users can scroll it.
  const list = h('ol', { class: 'messages', 'data-testid': 'message-list', tabindex: '0', 'aria-label': 'Messages' });
  const text = h('input', { type: 'text', placeholder: 'Message', 'aria-label': 'Message', 'data-testid': 'compose-text', maxlength: '4000', autocomplete: 'off', enterkeyhint: 'send' });
  const receipts = h('input', { type: 'checkbox', 'data-testid': 'compose-receipts', checked: conv.receiptsEnabled, disabled: !conv.receiptsEnabled });
  const form = h(
    'form',
    { class: 'compose', 'data-testid': 'compose' },
    text,
    h('label', { title: conv.receiptsEnabled ? '' : 'This group type does not take read receipts' }, receipts, ' read receipts'),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'compose-send' }, 'Send'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = '';
    client.sendMessage({ convId: conv.id, text: value, needReadReceipt: receipts.checked }).catch(showError);
    // Replying means having read the conversation: what was unread in it is read now.
    if (unreadShown) {
      client.markConversationRead(conv.id).catch((err: unknown) => {
        if (!hasErrorCode(err, 'not-found')) showError(err); // nothing stored yet to be read
      });
    }
  });
  pane.replaceChildren(
    h(
      'div',
      { class: 'conv-head' },
      h('button', { type: 'button', class: 'back link', 'data-testid': 'back', onclick: () => handlers.onBack() }, h('span', { 'aria-hidden': 'true' }, '‹ '), 'Back'),
      h('h2', { 'data-testid': 'conversation-title' }, conv.name || conv.id, h('small', {}, conv.type === 'c2c' ? ' direct' : ` ${conv.groupType ?? ''} group`)),
    ),
    list,
    form,
  );

  const rows = new Map<string, MessageRow>();
  // My pending messages read "Queued" while offline or signed out.
  let connection: SyncStatus['connection'] = 'connecting';
  subs.add(
    client.syncStatus$.subscribe((s) => {
      if (s.connection === connection) return;
      connection = s.connection;
      for (const row of rows.values()) row.refresh(connection);
    }),
  );

  // Others' messages that asked for a receipt are acknowledged once they are really seen:
  // 60% on screen for half a second, with the page visible and focused, one markRead per frame.
  // The newest message of others is tracked too: once it is really seen, the conversation is
  // read up to it (markConversationRead), which also clears messages that asked for no receipt.
  // Both go to the worker in the same frame, so they leave in one request.
  let newestId: string | null = null;
  const tracker = createReadTracker(
    {
      markRead: async (refs) => {
        const ids = (Array.isArray(refs) ? refs : [refs]).map((r) => (typeof r === 'string' ? r : r.id));
        const receiptIds = ids.filter((id) => needsReceipt.has(id));
        const acked = receiptIds.length > 0 ? await client.markRead(receiptIds) : { queued: 0, alreadyRead: 0, skipped: [] };
        if (newestId !== null && ids.includes(newestId)) await client.markConversationRead(conv.id, { upTo: newestId });
        return acked;
      },
    },
    { root: list, onError: showError },
  );
  /** Ids of the shown messages of others that asked for a receipt and are not read yet. */
  const needsReceipt = new Set<string>();
  /** Whether a shown message of others is unread. */
  let unreadShown = false;
  const context = { client, me: session.userId, conv, connection: () => connection, showError };
  let first = true;
  // The newest `limit` messages; scrolling to the top loads older ones (from IndexedDB, or the server) and grows it.
  let limit = 100;
  let hasOlder = false;
  let oldestId: string | null = null;
  let loading = false;
  let windowSub: Subscription | null = null;
  const render = ({ messages, hasOlder: older }: MessageWindow): void => {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    // Older messages came in above the one that was first (loadOlder grew the window).
    const prepended = !first && oldestId !== null && messages[0]?.id !== oldestId && messages.some((m) => m.id === oldestId);
    const height = list.scrollHeight;
    hasOlder = older;
    oldestId = messages[0]?.id ?? null;
    list.dataset.hasOlder = String(older);
    const seen = new Set<string>();
    let prev: HTMLElement | null = null;
    // The newest message of others (sent): seeing it reads the conversation up to it.
    const last = messages.findLast((m) => m.status === 'sent');
    newestId = last && last.senderId !== session.userId && last.readAt === undefined ? last.id : null;
    unreadShown = messages.some((m) => m.senderId !== session.userId && m.status === 'sent' && m.readAt === undefined);
    for (const m of messages) {
      seen.add(m.id);
      let row = rows.get(m.id);
      if (!row) {
        row = createMessageRow(m, context);
        rows.set(m.id, row);
      } else row.update(m);
      const unreadReceipt = m.senderId !== session.userId && m.needReadReceipt && m.ackStatus === 'none';
      if (unreadReceipt) needsReceipt.add(m.id);
      else needsReceipt.delete(m.id);
      const newestUnread = m === last && m.senderId !== session.userId && m.readAt === undefined;
      if (unreadReceipt || newestUnread) tracker.observe(row.el, m.id);
      else tracker.unobserve(row.el);
      // Keep DOM order equal to message order without re-creating rows.
      const want: ChildNode | null = prev ? prev.nextSibling : list.firstChild;
      if (want !== row.el) list.insertBefore(row.el, want);
      prev = row.el;
    }
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      row.dispose();
      tracker.unobserve(row.el);
      row.el.remove();
      rows.delete(id);
    }
    if (first || atBottom) list.scrollTop = list.scrollHeight;
    // Older messages came in above: keep what the reader was looking at in place.
    else if (prepended) list.scrollTop += list.scrollHeight - height;
    first = false;
  };
  const watchWindow = (): void => {
    windowSub?.unsubscribe();
    windowSub = client.messageWindow$(conv.id, { limit }).subscribe({ next: render, error: showError });
  };
  const loadOlder = async (): Promise<void> => {
    if (loading || !hasOlder || oldestId === null) return;
    loading = true;
    try {
      const page = await client.loadOlder(conv.id, { count: 50, before: oldestId });
      // Offline, nothing may come: the next scroll to the top tries again.
      if (page.messages.length > 0) {
        limit = Math.min(10_000, limit + page.messages.length);
        watchWindow();
      }
    } catch (err) {
      showError(err);
    } finally {
      loading = false;
    }
  };
  list.addEventListener('scroll', () => {
    if (list.scrollTop < 80) void loadOlder();
  });
  watchWindow();

  return () => {
    windowSub?.unsubscribe();
    subs.unsubscribe();
    tracker.dispose();
    for (const row of rows.values()) row.dispose();
  };
}

