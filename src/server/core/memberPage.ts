import type { MemberFilter, ReadMemberPage } from '../../protocol';
import { ValidationError } from '../../protocol';
import type { MessageRecord, Store } from '../store/Store';
import { signCursor, verifyCursor } from './signedCursor';

/** What a member-page cursor carries: message, filter, the last key returned and the walk's snapshot. */
interface PageCursor {
  m: string;
  f: MemberFilter;
  /**
   * read: ackSeq of the last reader returned; unread: ordinal of the last member returned (issue 14;
   * cursors of older servers carried a userId there and are refused); delivered: its userId.
   */
  k: number | string;
  /** The snapshot (global ack position) of the walk. Absent in cursors made before snapshots: none. */
  a?: number;
}

/**
 * One page of a group message's read, unread or delivered-but-unread members
 * (issue 10.5; a subset of unread), as index range reads,
 * at one snapshot of the global ack sequence for the whole walk: READ lists
 * the reads up to it, in ack order; UNREAD the audience members with no read
 * up to it, in ordinal order (the order they first joined the conversation,
 * found through the message's reader bitmap: `Store.unreadAudience`);
 * DELIVERED those of them with a delivery row, in userId order. The first
 * page takes the snapshot (now, or the request's `at`, e.g. the other
 * filter's walk), every page says it (`at`), and its cursor carries it. So a
 * READ walk and an UNREAD walk at the same snapshot are the audience exactly,
 * with nobody in both, however many acks arrive meanwhile; a reader who read after the snapshot shows in walks
 * started after it.
 */
export async function memberPage(
  store: Store,
  secret: string,
  msg: MessageRecord,
  filter: MemberFilter,
  cursor: string | null,
  count: number,
  at?: number,
): Promise<ReadMemberPage> {
  const from = cursor === null ? null : decode(secret, cursor, msg.id, filter);
  // A cursor's snapshot wins; a first page takes the caller's, or now's (the committed position).
  // Never one beyond the committed position: reads still to come would change what it shows.
  const snap = from ? from.a : Math.min(at ?? Number.MAX_SAFE_INTEGER, await store.lastAckSeq());
  const after = from?.k ?? null;
  if (filter === 'read') {
    const rows = await store.readsAfter(msg.id, typeof after === 'number' ? after : 0, count + 1);
    // Reads after the snapshot belong to later walks; rows come in ack order, so they are the tail.
    const upTo = snap === undefined ? rows : rows.filter((r) => r.ackSeq <= snap);
    const page = upTo.slice(0, count);
    const last = page[page.length - 1];
    const more = upTo.length > count && last !== undefined;
    return withSnapshot(
      {
        members: page.map((r) => ({ userId: r.userId, readAt: r.readAt })),
        nextCursor: more ? signCursor(secret, cursorOf(msg.id, filter, last.ackSeq, snap)) : null,
        isFinished: !more,
      },
      snap,
    );
  }
  if (filter === 'unread') {
    // The audience without a public read at the snapshot, in ordinal (first-join) order.
    const rows = await store.unreadAudience(msg, typeof after === 'number' ? after : null, count + 1, snap);
    const page = rows.slice(0, count);
    const last = page[page.length - 1];
    const more = rows.length > count && last !== undefined;
    return withSnapshot(
      {
        members: page.map((m) => ({ userId: m.userId })),
        nextCursor: more ? signCursor(secret, cursorOf(msg.id, filter, last.ordinal, snap)) : null,
        isFinished: !more,
      },
      snap,
    );
  }
  // DELIVERED: unread members whose devices had it at the snapshot (a delivery row up to it), in userId order.
  const ids = await store.deliveredUnread(msg.id, typeof after === 'string' ? after : null, count + 1, snap);
  const page = ids.slice(0, count);
  const last = page[page.length - 1];
  const more = ids.length > count && last !== undefined;
  return withSnapshot(
    {
      members: page.map((userId) => ({ userId })),
      nextCursor: more ? signCursor(secret, cursorOf(msg.id, filter, last, snap)) : null,
      isFinished: !more,
    },
    snap,
  );
}

function cursorOf(m: string, f: MemberFilter, k: number | string, a: number | undefined): PageCursor {
  return a === undefined ? { m, f, k } : { m, f, k, a };
}

function withSnapshot(page: ReadMemberPage, at: number | undefined): ReadMemberPage {
  if (at !== undefined) page.at = at;
  return page;
}

function decode(secret: string, cursor: string, messageId: string, filter: MemberFilter): { k: number | string; a: number | undefined } {
  const c = verifyCursor(secret, cursor) as Partial<PageCursor> | null;
  const keyOk = filter === 'delivered' ? typeof c?.k === 'string' : Number.isSafeInteger(c?.k) && (c?.k as number) >= 0;
  const snapOk = c?.a === undefined || (Number.isSafeInteger(c.a) && c.a >= 0);
  if (c && c.m === messageId && c.f === 'unread' && filter === 'unread' && typeof c.k === 'string') {
    // An UNREAD cursor of a server before issue 14 (userId order): its place means nothing in ordinal order.
    throw new ValidationError('cursor: an unread walk of an older server; start the walk again');
  }
  if (!c || c.m !== messageId || c.f !== filter || !keyOk || !snapOk) {
    throw new ValidationError('cursor: belongs to another message or filter');
  }
  return { k: c.k as number | string, a: c.a };
}
