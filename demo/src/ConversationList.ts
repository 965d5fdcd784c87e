import type { ConversationSummary } from '../../src';
import { h } from './dom';

/**
 * The conversation list: one button per conversation (reachable with Tab,
 * opened with Enter or Space), the open one marked with aria-current, and its
 * unread count ("12+" when older messages above my read position are not
 * stored yet, so there may be more).
 */
export function renderConversationList(list: HTMLElement, conversations: readonly ConversationSummary[], openId: string | null, open: (id: string) => void): void {
  list.replaceChildren(
    ...conversations.map((c) => {
      const unread = c.unreadCount;
      return h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'conv', 'data-testid': 'conversation', 'data-conv-id': c.id, 'aria-current': c.id === openId ? 'true' : undefined, onclick: () => open(c.id) },
          h('span', { class: 'name' }, c.name || c.id),
          h('span', { class: 'unread', 'data-testid': 'unread-count', hidden: unread === 0 }, `${unread}${c.unreadCountCapped ? '+' : ''}`, h('span', { class: 'sr-only' }, ' unread')),
          h('small', { class: 'meta' }, c.type === 'c2c' ? 'direct' : `${c.groupType ?? 'group'} · ${c.memberCount} members`),
        ),
      );
    }),
  );
}

/** Marks the open conversation without rebuilding the list. */
export function markOpen(list: HTMLElement, openId: string | null): void {
  for (const button of list.querySelectorAll<HTMLElement>('[data-testid="conversation"]')) {
    if (button.dataset.convId === openId) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}
