/**
 * Private reads, the worker side (issue 10.4): reads made while my receipt
 * mode is private are flagged at read time and sent with `p: 1`; the mode is
 * changeable offline (meta at once, one queued change) and follows the server
 * (pulls, `settings` events) unless a change of mine still waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import type { ConversationSummary, SyncStatus } from '../../src/bridge';
import type { AckBatchRequest, PullMessagesRequest, PullMessagesResponse, ServerConfig, SettingsRequest } from '../../src/protocol';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { loadReceiptMode } from '../../worker/store/receiptMode';
import { newCore, openClient, until, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(core: ReturnType<typeof newCore>, user: string, opts: Parameters<typeof openClient<MemoryTransport>>[2] = {}): Promise<Client> {
  const c = await openClient<MemoryTransport>(core, user, opts);
  open.push(c);
  return c;
}

/**
 * A transport that records the ack batches that carry reads (acks or
 * positions; delivery ranges, issue 10.5, left out) and every settings
 * request it sends.
 */
class RecordingTransport extends MemoryTransport {
  readonly batches: AckBatchRequest[] = [];
  readonly settingsSent: SettingsRequest[] = [];
  override ackBatch(req: AckBatchRequest) {
    const { deliveries: _d, ...reads } = structuredClone(req);
    if (reads.acks.length > 0 || reads.positions !== undefined) this.batches.push(reads);
    return super.ackBatch(req);
  }
  override settings(req: SettingsRequest) {
    this.settingsSent.push(structuredClone(req));
    return super.settings(req);
  }
}

/** alice posts `n` messages into `team` (receipts on the odd ones: sent[0], sent[2], …). */
async function post(core: ReturnType<typeof newCore>, n: number) {
  const messages = Array.from({ length: n }, (_, i) => ({ id: `m${String(i + 1).padStart(9, '0')}`, convId: 'team', text: `t${i + 1}`, needReadReceipt: i % 2 === 0, createdAt: 1 }));
  return (await core.sendMessages('alice', { type: 'send-messages', messages })).results.map((r) => r.message!);
}

const convOf = (c: Client, sub: number) => (c.values.get(sub) as ConversationSummary[] | undefined)?.find((x) => x.id === 'team');
const statusOf = (c: Client, sub: number) => c.values.get(sub) as SyncStatus | undefined;

async function readCounts(core: ReturnType<typeof newCore>, ids: string[]): Promise<number[]> {
  return (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: ids })).receipts.map((r) => r.readCount);
}

async function unreadMembers(core: ReturnType<typeof newCore>, messageId: string): Promise<string[]> {
  const res = await core.memberPage('alice', { type: 'member-page', messageId, filter: 'unread', count: 50 });
  return res.page.members.map((m) => m.userId);
}

describe('private reads (issue 10.4)', () => {
  it('a private read: the sender counts nobody, I stay unread in the member list, my other device follows', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const sent = await post(core, 4);
    const phone = await client(core, 'bob');
    const laptop = await client(core, 'bob');
    const convs = await laptop.sub({ kind: 'conversations' });
    const laptopStatus = await laptop.sub({ kind: 'sync-status' });
    await laptop.until(() => convOf(laptop, convs), (c) => c?.unreadCount === 4, 'four unread on the laptop');
    await phone.api.setReceiptMode('private');
    await phone.api.markRead([sent[0]!.id]);
    await phone.api.markConversationRead('team', { upTo: sent[2]!.id });
    await phone.api.flush();
    // My other device: the reads arrive (unread count drops) and so does the mode (settings event).
    await laptop.until(() => convOf(laptop, convs), (c) => c?.unreadCount === 1, 'the laptop follows');
    await laptop.until(() => statusOf(laptop, laptopStatus), (s) => s?.receiptMode === 'private' && !s.receiptModePending, 'private on the laptop');
    expect(await laptop.api.markRead([sent[0]!.id, sent[2]!.id])).toEqual({ queued: 0, alreadyRead: 2, skipped: [] });
    // The sender learns nothing.
    expect(await readCounts(core, [sent[0]!.id, sent[2]!.id])).toEqual([0, 0]);
    expect(await unreadMembers(core, sent[0]!.id)).toEqual(expect.arrayContaining(['bob', 'carol']));
    expect(await unreadMembers(core, sent[2]!.id)).toEqual(expect.arrayContaining(['bob', 'carol']));
  });

  it('switched offline: the change and the flagged reads go out together; reads made before the switch stay public; a merged position keeps private', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 6);
    const idb = new IDBFactory();
    const transport = new RecordingTransport(core, 'bob');
    let bob = await client(core, 'bob', { idb, transport });
    await bob.worker.flusher.stop(); // offline: nothing leaves
    await bob.api.markRead([sent[0]!.id]); // public
    await bob.api.markConversationRead('team', { upTo: sent[1]!.id }); // public, queued
    await bob.api.setReceiptMode('public');
    await bob.api.setReceiptMode('private'); // the last one wins: one row
    const status = await bob.sub({ kind: 'sync-status' });
    await bob.until(() => statusOf(bob, status), (s) => s?.receiptMode === 'private' && s.receiptModePending, 'private at once, pending');
    await bob.api.markRead([sent[2]!.id]); // private
    await bob.api.markConversationRead('team', { upTo: sent[3]!.id }); // private, merged into the public row
    expect(await bob.db.outbox.where(':id').startsWith('s:').count()).toBe(1);
    await bob.close();
    open.splice(open.indexOf(bob), 1);
    // Back online after a reload: the queued change, then the acks, each as it was made.
    bob = await client(core, 'bob', { idb, transport });
    await bob.api.flush();
    expect(transport.settingsSent).toEqual([{ type: 'settings', receipts: 'private' }]);
    expect(transport.batches).toHaveLength(1);
    const batch = transport.batches[0]!;
    expect(batch.acks).toEqual([{ m: sent[0]!.id, t: expect.any(Number) }, { m: sent[2]!.id, t: expect.any(Number), p: 1 }]);
    expect(batch.positions).toEqual([{ c: 'team', s: sent[3]!.seq, t: expect.any(Number), p: 1 }]);
    expect(await bob.db.outbox.count()).toBe(0);
    // sent[0] was read while public and stays so; sent[2] (and sent[4], beyond the position) nobody sees.
    expect(await readCounts(core, [sent[0]!.id, sent[2]!.id, sent[4]!.id])).toEqual([1, 0, 0]);
    expect((await core.settings('bob', { type: 'settings' })).settings.receipts).toBe('private');
    const s2 = await bob.sub({ kind: 'sync-status' });
    await bob.until(() => statusOf(bob, s2), (s) => s?.receiptMode === 'private' && !s.receiptModePending && s.pendingAcks === 0, 'sent');
    // Back to public: later reads count again, the private ones stay private.
    await bob.api.setReceiptMode('public');
    await bob.api.markRead([sent[4]!.id]);
    await bob.api.flush();
    expect(await readCounts(core, [sent[0]!.id, sent[2]!.id, sent[4]!.id])).toEqual([1, 0, 1]);
  });

  it('the mode follows the server (event, pull) unless a change of mine is queued: mine wins, then the server answers', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const phone = await client(core, 'bob');
    const laptop = await client(core, 'bob');
    // A device without the event stream learns by pull.
    const tablet = await client(core, 'bob', { worker: { sync: false } });
    const ls = await laptop.sub({ kind: 'sync-status' });
    const ps = await phone.sub({ kind: 'sync-status' });
    const ts = await tablet.sub({ kind: 'sync-status' });
    await tablet.until(() => statusOf(tablet, ts), (s) => s?.receiptMode === 'public', 'public by default');
    await phone.api.setReceiptMode('private');
    await phone.api.flush();
    await laptop.until(() => statusOf(laptop, ls), (s) => s?.receiptMode === 'private', 'the event');
    await tablet.worker.engine.catchUp();
    await tablet.until(() => statusOf(tablet, ts), (s) => s?.receiptMode === 'private', 'the pull');
    // The laptop, offline, switches back; the phone's next change arrives meanwhile: the laptop's queued one wins.
    await laptop.worker.flusher.stop();
    await laptop.api.setReceiptMode('public');
    await phone.api.setReceiptMode('private');
    await phone.api.flush();
    await core.settings('bob', { type: 'settings', receipts: 'private' });
    await laptop.worker.engine.catchUp();
    await laptop.worker.engine.idle();
    expect(statusOf(laptop, ls)).toMatchObject({ receiptMode: 'public', receiptModePending: true });
    // Online again: it is sent, the server takes it, and the other devices follow.
    await laptop.worker.flusher.start();
    await laptop.api.flush();
    await laptop.until(() => statusOf(laptop, ls), (s) => s?.receiptMode === 'public' && !s.receiptModePending, 'sent');
    await phone.until(() => statusOf(phone, ps), (s) => s?.receiptMode === 'public', 'the phone follows');
    expect((await core.settings('bob', { type: 'settings' })).settings.receipts).toBe('public');
  });

  it('a pull answered before a change on my phone and delivered after its settings event does not turn the mode back', async () => {
    // Seen in the demo (a clean-clone CI, test/e2e/unread): the laptop reloaded, its catch-up pull
    // read the mode on the server, the phone switched to private, the settings event reached the
    // laptop, and then the pull's older answer set the laptop back to public, where it stayed.
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    /** Armed: the next pull is answered by the server at once, and handed to the worker on release. */
    let armed = false;
    let held: { answered: Promise<PullMessagesResponse>; release: () => void } | null = null;
    class SlowPull extends MemoryTransport {
      override pullMessages(req: PullMessagesRequest) {
        const answered = super.pullMessages(req);
        if (!armed) return answered;
        armed = false;
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        held = { answered, release };
        return answered.then(async (res) => (await released, res));
      }
    }
    const phone = await client(core, 'bob');
    const laptop = await client(core, 'bob', { transport: new SlowPull(core, 'bob') });
    const ls = await laptop.sub({ kind: 'sync-status' });
    await laptop.until(() => statusOf(laptop, ls), (s) => s?.receiptMode === 'public', 'public');
    await laptop.worker.engine.idle();
    armed = true;
    const pulled = laptop.worker.engine.catchUp();
    const pull = await until(() => held, (h) => h !== null, 'the pull sent');
    expect((await pull!.answered).settings?.receipts).toBe('public');
    await phone.api.setReceiptMode('private');
    await phone.api.flush();
    await laptop.until(() => statusOf(laptop, ls), (s) => s?.receiptMode === 'private', 'the event');
    pull!.release();
    await pulled;
    await laptop.worker.engine.idle();
    // What the device reads with, stored (the status follows it).
    expect(await loadReceiptMode(laptop.db)).toBe('private');
    // The next pull, answered after the change, agrees.
    await laptop.worker.engine.catchUp();
    expect(await loadReceiptMode(laptop.db)).toBe('private');
    expect(statusOf(laptop, ls)?.receiptMode).toBe('private');
  });

  it('a server without the feature keeps the change and the private reads queued, with unsupported-protocol', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 4);
    class OldServer extends RecordingTransport {
      override async getConfig(): Promise<ServerConfig> {
        const { features: _f, ...config } = await super.getConfig();
        return config;
      }
    }
    const transport = new OldServer(core, 'bob');
    const bob = await client(core, 'bob', { transport, worker: { sync: false } });
    await bob.worker.engine.catchUp();
    await bob.api.markRead([sent[0]!.id]); // public: goes out
    await bob.api.setReceiptMode('private');
    await bob.api.markRead([sent[2]!.id]); // private: an old server would count it, so it waits
    const status = await bob.sub({ kind: 'sync-status' });
    await bob.api.flush();
    // The counts are throttled (StatusCounts): wait for both.
    const s = await bob.until(() => statusOf(bob, status), (x) => x?.lastError?.code === 'unsupported-protocol' && x.pendingAcks === 1, 'a clear error');
    expect(s).toMatchObject({ receiptMode: 'private', receiptModePending: true });
    expect(transport.settingsSent).toEqual([]);
    expect(transport.batches.flatMap((b) => b.acks.map((a) => a.m))).toEqual([sent[0]!.id]);
    expect(await bob.db.outbox.count()).toBe(2); // the private ack and the settings change
    expect(await readCounts(core, [sent[0]!.id, sent[2]!.id])).toEqual([1, 0]);
  });
});
