import { describe, expect, it } from 'vitest';
import { TransientError, type OutgoingMessage } from '../../../src/protocol';
import { GROUP, enqueueSend, markRead, openTab, runTimersUntil, storeDelivered, World, trackTabs } from './harness';

const outgoing = (id: string, convId = GROUP, needReadReceipt = true): OutgoingMessage => ({ id, convId, text: `text of ${id}`, needReadReceipt, createdAt: Date.now() });

describe('Flusher: sending my messages', () => {
  const tabs = trackTabs();

  it('sends pending messages in enqueue order per conversation, stores their server fields and an empty receipt', async () => {
    const world = await World.create(['bob', 'carol', 'dave']);
    const tab = await openTab(world, 'bob');
    tabs.push(tab);
    const ids = ['msgA0000001', 'msgB0000002', 'msgC0000003'];
    for (const [i, id] of ids.entries()) await enqueueSend(tab.db, outgoing(id), 'bob', Date.now() + i);
    await tab.flusher.flush();

    expect(await tab.db.outbox.count()).toBe(0);
    const rows = await tab.db.messages.bulkGet(ids);
    expect(rows.map((r) => r?.status)).toEqual(['sent', 'sent', 'sent']);
    const seqs = rows.map((r) => r!.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs); // server order = enqueue order
    expect(rows.every((r) => r!.pos === r!.seq && r!.audienceCount === 3 && r!.sentAt !== null)).toBe(true);
    expect(await tab.db.receipts.get(ids[0]!)).toMatchObject({ readCount: 0, unreadCount: 3, isPeerRead: false });
  });

  it('a refused message (receipts disabled in this group type) fails visibly and the next one still goes', async () => {
    const world = await World.create(['bob']);
    await world.core.admin.createGroup({ id: 'lobby', name: 'Lobby', groupType: 'community', members: ['alice', 'bob'] });
    const tab = await openTab(world, 'bob');
    tabs.push(tab);
    await enqueueSend(tab.db, outgoing('refused00001', 'lobby', true), 'bob', Date.now());
    await enqueueSend(tab.db, outgoing('plain0000002', 'lobby', false), 'bob', Date.now() + 1);
    await tab.flusher.flush();
    const [refused, plain] = await tab.db.messages.bulkGet(['refused00001', 'plain0000002']);
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'receipts-disabled' } });
    expect(plain).toMatchObject({ status: 'sent' });
    expect(await tab.db.receipts.get('plain0000002')).toBeUndefined();
    expect(await tab.db.outbox.count()).toBe(0);
  });

  it('a resend after a lost reply is recognised by its id: one message on the server', async () => {
    const world = await World.create(['bob']);
    const tab = await openTab(world, 'bob', { random: () => 0 });
    tabs.push(tab);
    const net = world.transport('bob');
    net.dropReplyNext('sendMessages', 1);
    net.failNext('sendMessages', () => new TransientError('server', 'HTTP 502', { status: 502 }), 1);
    await enqueueSend(tab.db, outgoing('resent000001'), 'bob', Date.now());
    tab.flusher.notifyEnqueued();
    await runTimersUntil(() => net.count('sendMessages') >= 3);
    await tab.flusher.whenIdle();
    expect(net.log.filter((e) => e.kind === 'sendMessages').map((e) => e.outcome)).toEqual(['dropped', 'error', 'ok']);
    expect((await tab.db.messages.get('resent000001'))?.status).toBe('sent');
    const pulled = await world.core.pullMessages('alice', { type: 'pull-messages', since: {} });
    expect(pulled.messages.filter((m) => m.id === 'resent000001')).toHaveLength(1);
  });

  it('messages go before acks, and big texts are split by the body limit', async () => {
    const world = await World.create(['bob']);
    const tab = await openTab(world, 'bob');
    tabs.push(tab);
    await tab.flusher.whenIdle(); // the start-up pass over an empty outbox: the one below is the pass under test
    const [incoming] = await world.post(1);
    await storeDelivered(tab.db, [incoming!]);
    await markRead(tab.db, [incoming!.id]); // queued before the messages
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 80; i++) {
      await enqueueSend(tab.db, { ...outgoing(`big${String(i).padStart(9, '0')}`), text: big }, 'bob', Date.now() + i);
    }
    await tab.flusher.flush();
    const sends = world.transport('bob').log.filter((e) => e.kind === 'sendMessages');
    const limit = world.core.config.limits.maxBodyBytes;
    expect(sends.length).toBeGreaterThan(1);
    for (const e of sends) expect(new TextEncoder().encode(JSON.stringify(e.request)).length).toBeLessThanOrEqual(limit);
    const kinds = world.transport('bob').log.map((e) => e.kind);
    expect(kinds.indexOf('ackBatch')).toBe(kinds.length - 1);
    expect(await tab.db.outbox.count()).toBe(0);
  });
});
