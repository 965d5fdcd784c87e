import { Subscription } from 'rxjs';
import { createReadTracker, type Conversation, type LocalMessage, type ReadState, type ReadSyncClient } from '../../src';
import { h } from './dom';
import { openMemberPanel } from './MemberPanel';
import type { Session } from './session';

/** The open conversation: message list with live receipt lines, and the compose box. Returns the unmount function. */
export function mountConversation(pane: HTMLElement, client: ReadSyncClient, session: Session, conv: Conversation, showError: (e: unknown) => void): () => void {
  const subs = new Subscription();
  const list = h('ol', { class: 'messages', 'data-testid': 'message-list' });
  const text = h('input', { type: 'text', placeholder: 'Message', 'data-testid': 'compose-text', maxlength: '4000', autocomplete: 'off' });
  const receipts = h('input', { type: 'checkbox', 'data-testid': 'compose-receipts', checked: conv.receiptsEnabled, disabled: !conv.receiptsEnabled });
  const form = h(
    'form',
    { class: 'compose', 'data-testid': 'compose' },
    text,
    h('label', { title: conv.receiptsEnabled ? '' : 'This group type does not take read receipts' }, receipts, ' request read receipts'),
    h('button', { type: 'submit', 'data-testid': 'compose-send' }, 'Send'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = '';
    client.sendMessage({ convId: conv.id, text: value, needReadReceipt: receipts.checked }).catch(showError);
  });
  pane.replaceChildren(
    h('h2', { 'data-testid': 'conversation-title' }, conv.name || conv.id, h('small', {}, conv.type === 'c2c' ? ' direct' : ` ${conv.groupType ?? ''} group`)),
    list,
    form,
  );

  // Others' messages that asked for a receipt are acknowledged once they are really seen:
  // 60% on screen for half a second, with the page visible and focused, one markRead per frame.
  const tracker = createReadTracker(client, { root: list, onError: showError });
  const rows = new Map<string, { el: HTMLElement; sub?: Subscription }>();
  let first = true;
  subs.add(
    client.messages$(conv.id, { limit: 200 }).subscribe({
      next(messages) {
        const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        const seen = new Set<string>();
        let prev: HTMLElement | null = null;
        for (const m of messages ?? []) {
          seen.add(m.id);
          let row = rows.get(m.id);
          if (!row) {
            row = createRow(client, session, m, conv, showError);
            rows.set(m.id, row);
          }
          updateRow(row.el, m);
          if (m.senderId !== session.userId && m.needReadReceipt && m.ackStatus === 'none') tracker.observe(row.el, m.id);
          else tracker.unobserve(row.el);
          // Keep DOM order equal to message order without re-creating rows.
          const want: ChildNode | null = prev ? prev.nextSibling : list.firstChild;
          if (want !== row.el) list.insertBefore(row.el, want);
          prev = row.el;
        }
        for (const [id, row] of rows) {
          if (seen.has(id)) continue;
          row.sub?.unsubscribe();
          tracker.unobserve(row.el);
          row.el.remove();
          rows.delete(id);
        }
        if (first || atBottom) list.scrollTop = list.scrollHeight;
        first = false;
      },
      error: showError,
    }),
  );

  return () => {
    subs.unsubscribe();
    tracker.dispose();
    for (const row of rows.values()) row.sub?.unsubscribe();
  };
}

function createRow(client: ReadSyncClient, session: Session, m: LocalMessage, conv: Conversation, showError: (e: unknown) => void): { el: HTMLElement; sub?: Subscription } {
  const mine = m.senderId === session.userId;
  const el = h(
    'li',
    { class: mine ? 'mine' : 'theirs', 'data-testid': 'message', 'data-message-id': m.id },
    mine ? null : h('span', { class: 'sender' }, m.senderId),
    h('span', { class: 'text', 'data-testid': 'message-text' }, m.text),
  );
  if (!mine) {
    el.append(h('span', { class: 'ack', 'data-testid': 'ack' }));
    return { el };
  }
  const line = h('button', { class: 'receipt link', 'data-testid': 'receipt', type: 'button', disabled: true });
  el.append(line);
  if (conv.type === 'group') line.addEventListener('click', () => openMemberPanel(client, m.id, showError));
  const sub = client.readState$(m.id).subscribe({ next: (s) => renderReceipt(line, s, conv), error: showError });
  return { el, sub };
}

function updateRow(el: HTMLElement, m: LocalMessage): void {
  el.dataset.status = m.status;
  el.dataset.ackStatus = m.ackStatus;
  const ack = el.querySelector<HTMLElement>('[data-testid="ack"]');
  if (ack) ack.textContent = !m.needReadReceipt ? '' : { none: '', pending: 'read · receipt queued', sent: 'read · receipt sent', rejected: 'receipt refused' }[m.ackStatus];
}

function renderReceipt(line: HTMLButtonElement, s: ReadState | null, conv: Conversation): void {
  if (!s) return;
  line.textContent = s.needReadReceipt || s.status !== 'sent' ? s.label : 'Sent';
  line.dataset.readCount = String(s.readCount);
  line.dataset.unreadCount = String(s.unreadCount);
  line.dataset.peerRead = String(s.isPeerRead);
  line.dataset.status = s.status;
  line.disabled = !(conv.type === 'group' && s.needReadReceipt && s.status === 'sent');
}
