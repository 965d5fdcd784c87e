import type { Subscription } from 'rxjs';
import type { Conversation, LocalMessage, ReadState, ReadSyncClient, SyncStatus } from '../../src';
import { h } from './dom';
import { openMemberPanel } from './MemberPanel';

/** One message of the list, kept across updates of the message list. */
export interface MessageRow {
  el: HTMLElement;
  /** The stored message changed (status, ack, server time). */
  update(m: LocalMessage): void;
  /** The connection changed: a pending message of mine reads "Sending…" online, "Queued" otherwise. */
  refresh(connection: SyncStatus['connection']): void;
  dispose(): void;
}

interface RowContext {
  client: ReadSyncClient;
  me: string;
  conv: Conversation;
  connection: () => SyncStatus['connection'];
  showError: (e: unknown) => void;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

/**
 * A message bubble: sender (others'), text, time, and a live receipt line on
 * my messages (a button that opens the member dialog for group messages with
 * receipts; c2c: Sent ✓, Delivered ✓✓, Read ✓✓ in blue; groups: the counts and
 * how many members' devices have it) or the state of my acknowledgement on
 * others'.
 */
export function createMessageRow(m: LocalMessage, ctx: RowContext): MessageRow {
  const mine = m.senderId === ctx.me;
  const time = h('time', { 'data-testid': 'message-time' });
  const foot = h('span', { class: 'foot' }, time);
  const el = h(
    'li',
    { class: mine ? 'mine' : 'theirs', 'data-testid': 'message', 'data-message-id': m.id },
    mine ? null : h('span', { class: 'sender' }, m.senderId),
    h('span', { class: 'text', 'data-testid': 'message-text' }, m.text),
    foot,
  );
  let sub: Subscription | undefined;
  let state: ReadState | null = null;
  const line = h('button', { class: 'receipt', 'data-testid': 'receipt', type: 'button', disabled: true });
  // Group messages with receipts: how many members' devices have it (readers included), beside the counts.
  const delivered = h('span', { class: 'delivered', 'data-testid': 'delivered', hidden: true });
  const ack = h('span', { class: 'ack', 'data-testid': 'ack' });
  if (mine) {
    foot.append(line, delivered);
    if (ctx.conv.type === 'group') line.addEventListener('click', () => openMemberPanel(ctx.client, m.id, line, ctx.showError));
    sub = ctx.client.readState$(m.id).subscribe({
      next: (s) => {
        state = s;
        renderReceipt(line, s, ctx.conv, ctx.connection());
        renderDelivered(delivered, s, ctx.conv);
      },
      error: ctx.showError,
    });
  } else foot.append(ack);

  const update = (next: LocalMessage): void => {
    const at = new Date(next.sentAt ?? next.createdAt);
    time.dateTime = at.toISOString();
    time.textContent = timeFormat.format(at);
    el.dataset.status = next.status;
    el.dataset.ackStatus = next.ackStatus;
    if (!mine) ack.textContent = !next.needReadReceipt ? '' : { none: '', pending: 'read · receipt queued', sent: 'read · receipt sent', rejected: 'receipt refused' }[next.ackStatus];
  };
  update(m);
  return {
    el,
    update,
    refresh: (connection) => renderReceipt(line, state, ctx.conv, connection),
    dispose: () => sub?.unsubscribe(),
  };
}

function renderReceipt(line: HTMLButtonElement, s: ReadState | null, conv: Conversation, connection: SyncStatus['connection']): void {
  if (!s) return;
  // The worker's label says "Sending…" for any pending message; offline or signed out, it is waiting, not sending.
  if (s.status === 'pending') line.textContent = connection === 'online' ? 'Sending…' : connection === 'needs-auth' ? 'Queued · sends after sign-in' : 'Queued · sends when online';
  else line.textContent = s.needReadReceipt || s.status !== 'sent' ? s.label : 'Sent';
  line.dataset.readCount = String(s.readCount);
  line.dataset.unreadCount = String(s.unreadCount);
  line.dataset.deliveredCount = String(s.deliveredCount);
  line.dataset.peerRead = String(s.isPeerRead);
  line.dataset.status = s.status;
  // c2c ticks (CSS, decorative: the label says it in words): ✓ on the server, ✓✓ on the peer's device, ✓✓ blue read.
  if (conv.type === 'c2c' && s.needReadReceipt && s.status === 'sent') line.dataset.delivery = s.isPeerRead ? 'read' : s.deliveredCount > 0 ? 'delivered' : 'sent';
  else delete line.dataset.delivery;
  const opens = conv.type === 'group' && s.needReadReceipt && s.status === 'sent';
  line.disabled = !opens;
  if (opens) {
    line.setAttribute('aria-haspopup', 'dialog');
    line.title = 'Show who has read it';
  } else {
    line.removeAttribute('aria-haspopup');
    line.removeAttribute('title');
  }
}

/** "2 delivered" under a group message of mine that asked for receipts: members whose devices have it, readers included. */
function renderDelivered(el: HTMLElement, s: ReadState | null, conv: Conversation): void {
  const shown = s !== null && conv.type === 'group' && s.needReadReceipt && s.status === 'sent';
  el.hidden = !shown;
  if (!shown) return;
  el.textContent = `${s.deliveredCount} delivered`;
  el.title = 'Members whose devices have received it, those who read it included';
}
