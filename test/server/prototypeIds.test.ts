/**
 * Issue 8: conversation ids that are names of Object.prototype properties.
 * Ids come from the network, so they must never index a plain object: a
 * `since[convId]` lookup read an inherited function as a sequence number
 * (500 on every pull), `since['__proto__'] = n` set a prototype instead of a
 * key, and valibot's `v.record` drops `__proto__`/`constructor`/`prototype`
 * keys. Each id goes the whole way here: a real server on port 0, two
 * workers talking to it over HttpTransport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PullMessagesResponse } from '../../src/protocol';
import { ackStatus, openClient, until, type Client } from '../worker/harness';
import type { HttpTransport } from '../../worker/transport/HttpTransport';
import { startServer } from './httpFixture';

const PROTOTYPE_IDS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Server = Awaited<ReturnType<typeof startServer>>;

/** A fetch that keeps every /v1/pull reply, to see what the server answered to the worker's positions. */
function recordingPulls() {
  const replies: PullMessagesResponse[] = [];
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input).endsWith('/v1/pull') && res.ok) replies.push((await res.clone().json()) as PullMessagesResponse);
    return res;
  };
  return { replies, fetch: f };
}

async function open(s: Server, userId: string, fetchFn?: typeof fetch): Promise<Client<HttpTransport>> {
  const c = await openClient(s.core, userId, { transport: s.transport(userId, fetchFn ? { fetch: fetchFn } : {}) });
  cleanups.push(() => c.close());
  return c;
}

describe.each(PROTOTYPE_IDS)('conversation id %j', (convId) => {
  it('is pulled, delivered, acked and receipted like any other id, and its pull position is kept', async () => {
    const s = await startServer();
    cleanups.push(() => s.close());
    await s.core.admin.createGroup({ id: convId, name: 'Proto', groupType: 'work', members: ['alice', 'bob'] });

    // A first pull of a member, straight over HTTP: this was `500 internal`.
    const first = await s.transport('bob').pullMessages({ type: 'pull-messages', since: {} });
    expect(first.conversations.map((c) => c.id)).toEqual([convId]);

    const alice = await open(s, 'alice');
    await until(() => alice.api.getConversations(), (cs) => cs.some((c) => c.id === convId), 'alice has the conversation');
    const sent = await alice.api.sendMessage({ convId, text: `hello in ${convId}`, needReadReceipt: true });
    await alice.api.flush();
    expect((await alice.db.messages.get(sent.id))?.status).toBe('sent');

    // bob starts after the message was sent, so his catch-up pull brings it (not the event stream).
    const pulls = recordingPulls();
    const bob = await open(s, 'bob', pulls.fetch);
    const got = await until(() => bob.db.messages.get(sent.id), (m) => m !== undefined, 'bob has the message');
    expect(got).toMatchObject({ convId, text: `hello in ${convId}`, senderId: 'alice', seq: 1 });

    // The next pull carries bob's position in this conversation: nothing is sent again.
    const before = pulls.replies.length;
    await bob.worker.engine.catchUp();
    const again = pulls.replies.slice(before);
    expect(again.length).toBeGreaterThan(0);
    for (const reply of again) {
      expect(reply.conversations.map((c) => c.id)).toEqual([convId]);
      expect(reply.messages).toEqual([]);
    }

    const marked = await bob.api.markRead([sent.id]);
    expect(marked.queued).toBe(1);
    await bob.api.flush();
    expect(await ackStatus(bob.db, sent.id)).toBe('sent');
    const [result] = await until(
      () => alice.api.getReadReceipts([sent.id]),
      (rs) => rs[0]?.receipt?.readCount === 1,
      'alice sees the read',
    );
    expect(result?.receipt).toMatchObject({ convId, messageId: sent.id, readCount: 1, unreadCount: 0, isPeerRead: true });
  });
});
