import { expect } from 'vitest';
import type { MemberFilter, ReadMember, ReadMemberPage } from '../../src/protocol';

/**
 * Pages through one message's READ or UNREAD member list `count` at a time
 * until `isFinished`, checking every page respects `count`. Fails after
 * `maxPages` pages instead of looping forever.
 */
export async function collectMemberPages(
  getPage: (filter: MemberFilter, cursor: string | null, count: number) => Promise<ReadMemberPage>,
  filter: MemberFilter,
  count = 1,
  maxPages = 10,
): Promise<ReadMember[]> {
  const all: ReadMember[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await getPage(filter, cursor, count);
    expect(page.members.length).toBeLessThanOrEqual(count);
    all.push(...page.members);
    if (page.isFinished) return all;
    cursor = page.nextCursor;
  }
  throw new Error('member list never finished');
}
