import { hasErrorCode, type MemberFilter, type ReadSyncClient } from '../../src';
import { h } from './dom';

/** Members per page; small so that paging shows in the demo's four-person group. `?page=N` overrides. */
const PAGE = Number(new URLSearchParams(location.search).get('page')) || 2;

/**
 * A modal dialog with the read, the delivered-but-unread and the unread
 * members of one of my group messages, each list paged with "more". A native <dialog> opened with
 * showModal(): the rest of the page is inert, Esc closes it, the focus moves
 * in (to "Close") and back to `opener` when it closes; a click on the
 * backdrop closes it too.
 */
export function openMemberPanel(client: ReadSyncClient, messageId: string, opener: HTMLElement, showError: (e: unknown) => void): void {
  document.querySelector<HTMLDialogElement>('[data-testid="members-panel"]')?.close();
  const counts = h('p', { 'data-testid': 'members-counts' });
  // Delivered: unread, but their devices have it (a subset of Unread; a server that counts deliveries).
  const columns = (['read', 'delivered', 'unread'] as const).map((filter) => column(client, messageId, filter, showError));
  const close = h('button', { type: 'button', 'data-testid': 'members-close', autofocus: true }, 'Close');
  const dialog = h(
    'dialog',
    { class: 'panel', 'data-testid': 'members-panel', 'aria-labelledby': 'members-title' },
    h('div', { class: 'panel-body' }, h('h3', { id: 'members-title' }, 'Who has read it'), counts, h('div', { class: 'columns' }, ...columns), close),
  );
  close.addEventListener('click', () => dialog.close());
  // A click outside the body lands on the dialog element itself: that is the backdrop.
  dialog.addEventListener('click', (ev) => {
    if (ev.target === dialog) dialog.close();
  });
  const sub = client.readState$(messageId).subscribe((s) => {
    if (s) counts.textContent = `${s.label} · ${s.deliveredCount} delivered`;
  });
  dialog.addEventListener('close', () => {
    sub.unsubscribe();
    dialog.remove();
    if (opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
}

function column(client: ReadSyncClient, messageId: string, filter: MemberFilter, showError: (e: unknown) => void): HTMLElement {
  const heading = `members-${filter}-title`;
  const list = h('ul', { 'data-testid': `members-${filter}`, 'aria-labelledby': heading });
  const more = h('button', { type: 'button', class: 'link', 'data-testid': `members-more-${filter}`, hidden: true }, 'more');
  let cursor: string | null = null;
  const load = async (): Promise<void> => {
    more.disabled = true;
    try {
      const page = await client.getReadMembers(messageId, { filter, cursor, count: PAGE });
      for (const m of page.members) {
        list.append(h('li', { 'data-testid': 'member', 'data-user-id': m.userId }, m.userId, m.readAt ? h('small', {}, ` ${new Date(m.readAt).toLocaleTimeString()}`) : null));
      }
      if (cursor === null && page.members.length === 0) list.append(h('li', { class: 'hint' }, 'nobody'));
      cursor = page.nextCursor;
      more.hidden = page.isFinished;
      list.dataset.finished = String(page.isFinished);
    } catch (err) {
      // An older server lists no deliveries: say so in the column, not as a failure.
      if (filter === 'delivered' && hasErrorCode(err, 'unsupported-protocol')) {
        list.replaceChildren(h('li', { class: 'hint' }, 'not counted by this server'));
        list.dataset.finished = 'true';
        more.hidden = true;
      } else showError(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());
  void load();
  const title = { read: 'Read', unread: 'Unread', delivered: 'Delivered, unread' }[filter];
  return h('section', {}, h('h4', { id: heading }, title), list, more);
}
