import type { MemberFilter, ReadSyncClient } from '../../src';
import { h } from './dom';

/** Members per page; small so that paging shows in the demo's four-person group. `?page=N` overrides. */
const PAGE = Number(new URLSearchParams(location.search).get('page')) || 2;

/** A dialog with the read and unread members of one of my group messages, each list paged with "more". */
export function openMemberPanel(client: ReadSyncClient, messageId: string, showError: (e: unknown) => void): void {
  document.querySelector('[data-testid="members-panel"]')?.remove();
  const counts = h('p', { 'data-testid': 'members-counts' });
  const columns = (['read', 'unread'] as const).map((filter) => column(client, messageId, filter, showError));
  const close = h('button', { type: 'button', 'data-testid': 'members-close', onclick: () => dialog.remove() }, 'Close');
  const dialog = h('div', { class: 'panel', role: 'dialog', 'data-testid': 'members-panel' }, h('h3', {}, 'Who has read it'), counts, h('div', { class: 'columns' }, ...columns), close);
  const sub = client.readState$(messageId).subscribe((s) => {
    if (s) counts.textContent = s.label;
  });
  new MutationObserver((_, mo) => {
    if (dialog.isConnected) return;
    sub.unsubscribe();
    mo.disconnect();
  }).observe(document.body, { childList: true });
  document.body.append(dialog);
}

function column(client: ReadSyncClient, messageId: string, filter: MemberFilter, showError: (e: unknown) => void): HTMLElement {
  const list = h('ul', { 'data-testid': `members-${filter}` });
  const more = h('button', { type: 'button', 'data-testid': `members-more-${filter}`, hidden: true }, 'more');
  let cursor: string | null = null;
  const load = async (): Promise<void> => {
    more.disabled = true;
    try {
      const page = await client.getReadMembers(messageId, { filter, cursor, count: PAGE });
      for (const m of page.members) {
        list.append(h('li', { 'data-testid': 'member', 'data-user-id': m.userId }, m.userId, m.readAt ? h('small', {}, ` ${new Date(m.readAt).toLocaleTimeString()}`) : null));
      }
      cursor = page.nextCursor;
      more.hidden = page.isFinished;
      list.dataset.finished = String(page.isFinished);
    } catch (err) {
      showError(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());
  void load();
  return h('section', {}, h('h4', {}, filter === 'read' ? 'Read' : 'Unread'), list, more);
}
