import type { MemberFilter, ReadMemberPage } from '../../protocol';
import { ValidationError } from '../../protocol';
import type { MessageRecord, Store } from '../store/Store';
import { signCursor, verifyCursor } from './signedCursor';

/** What a member-page cursor carries: message, filter and the last key returned. */
interface PageCursor {
  m: string;
  f: MemberFilter;
  /** read: ackSeq of the last reader returned; unread: userId of the last member returned. */
  k: number | string;
}

/**
 * One page of a group message's read or unread members, as index range reads.
 * Read members come in ack order, so pages stay stable while acks keep
 * arriving (new readers append at the end). Unread members come in userId
 * order; one who reads meanwhile simply drops out of the pages not yet fetched.
 */
export async function memberPage(store: Store, secret: string, msg: MessageRecord, filter: MemberFilter, cursor: string | null, count: number): Promise<ReadMemberPage> {
  const after = cursor === null ? null : decode(secret, cursor, msg.id, filter);
  if (filter === 'read') {
    const rows = await store.readsAfter(msg.id, typeof after === 'number' ? after : 0, count + 1);
    const page = rows.slice(0, count);
    const last = page[page.length - 1];
    const more = rows.length > count && last !== undefined;
    return {
      members: page.map((r) => ({ userId: r.userId, readAt: r.readAt })),
      nextCursor: more ? signCursor(secret, { m: msg.id, f: filter, k: last.ackSeq } satisfies PageCursor) : null,
      isFinished: !more,
    };
  }
  const ids = await store.unreadAudience(msg, typeof after === 'string' ? after : null, count + 1);
  const page = ids.slice(0, count);
  const last = page[page.length - 1];
  const more = ids.length > count && last !== undefined;
  return {
    members: page.map((userId) => ({ userId })),
    nextCursor: more ? signCursor(secret, { m: msg.id, f: filter, k: last } satisfies PageCursor) : null,
    isFinished: !more,
  };
}

function decode(secret: string, cursor: string, messageId: string, filter: MemberFilter): number | string {
  const c = verifyCursor(secret, cursor) as Partial<PageCursor> | null;
  const keyOk = filter === 'read' ? typeof c?.k === 'number' : typeof c?.k === 'string';
  if (!c || c.m !== messageId || c.f !== filter || !keyOk) {
    throw new ValidationError('cursor: belongs to another message or filter');
  }
  return c.k as number | string;
}
