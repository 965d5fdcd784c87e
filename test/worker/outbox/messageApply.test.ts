import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { Message, SendResult } from '../../../src/protocol';
import { ReadSyncDb, type SendOutboxRow } from '../../../worker/db/ReadSyncDb';
import { MessageOutbox } from '../../../worker/outbox/MessageOutbox';
import { enqueueMessages, messageKey, sendKey, sendNow, type SendItem } from '../../../worker/store/enqueueMessage';

/**
 * Applying the server's answers to my queued messages (outbox/MessageOutbox):
 * rows keyed in send order leave the outbox as key ranges, message rows are
 * read as ranges of their pending positions, and the result is what a row
 * by row apply gave: answered rows go, unanswered ones stay, refused ones
 * fail, rows queued with the old `msg:<id>` keys still work.
 */
const dbs: ReadSyncDb[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

async function openDb(): Promise<ReadSyncDb> {
  const db = new ReadSyncDb('apply-test', { indexedDB: new IDBFactory(), IDBKeyRange });
  dbs.push(db);
  await db.open();
  return db;
}

let clock = 1_700_000_000_000;
function items(convId: string, n: number, prefix: string): SendItem[] {
  return Array.from({ length: n }, (_, i) => ({ out: { id: `${prefix}${String(i).padStart(8, '0')}`, convId, text: `${prefix} ${i}`, needReadReceipt: false, createdAt: ++clock } }));
}

async function queue(db: ReadSyncDb, calls: SendItem[][]): Promise<void> {
  const outcomes = await enqueueMessages(db, calls, 'alice', () => 'group');
  for (const o of outcomes) if ('error' in o) throw o.error;
}

let seq = 0;
function accepted(row: SendOutboxRow): SendResult {
  const m = row.message;
  const message: Message = { id: m.id, convId: m.convId, convType: 'group', senderId: 'alice', text: m.text, needReadReceipt: m.needReadReceipt, seq: ++seq, sentAt: 5, audienceCount: 2 };
  return { id: m.id, status: 'accepted', message };
}

const queuedIds = async (db: ReadSyncDb): Promise<string[]> =>
  ((await db.outbox.where('[kind+enqueuedAt]').between(['message', -Infinity], ['message', Infinity]).toArray()) as SendOutboxRow[]).map((r) => r.messageId);

describe('MessageOutbox: applying send answers', () => {
  it('keys queued messages in send order', async () => {
    const db = await openDb();
    await queue(db, [items('c1', 3, 'a'), items('c2', 2, 'b'), items('c1', 2, 'c')]);
    const rows = (await db.outbox.toArray()) as SendOutboxRow[];
    expect(rows.map((r) => r.key)).toEqual(rows.map((r) => sendKey(r.enqueuedAt, r.messageId)));
    const bySendOrder = [...rows].sort((x, y) => x.enqueuedAt - y.enqueuedAt).map((r) => r.key);
    expect(rows.map((r) => r.key)).toEqual(bySendOrder); // primary key order is send order
    expect(rows.map((r) => r.messageId)).toEqual(['a00000000', 'a00000001', 'a00000002', 'b00000000', 'b00000001', 'c00000000', 'c00000001']);
  });

  it('drops exactly the answered rows (unanswered ones in the middle stay), stores the server fields, fails the refused', async () => {
    const db = await openDb();
    const outbox = new MessageOutbox(db);
    await queue(db, [items('c1', 320, 'm')]);
    const [batch, second] = await outbox.readBatches(2, 300);
    expect(batch).toHaveLength(300);
    expect(second).toHaveLength(20);
    const rows = batch as SendOutboxRow[];
    // Answers for all but rows 100-109, 150 and 299 (runs long enough to go as key ranges, and short ones); row 7 refused.
    const unanswered = (i: number) => (i >= 100 && i < 110) || i === 150 || i === 299;
    const results: SendResult[] = rows.flatMap((r, i) => {
      if (unanswered(i)) return [];
      if (i === 7) return [{ id: r.messageId, status: 'rejected' as const, reason: 'not-member' as const }];
      return [accepted(r)];
    });
    expect(await outbox.applyResults(rows, results)).toBe(288);
    const left = rows.filter((_, i) => unanswered(i)).map((r) => r.messageId);
    expect(await queuedIds(db)).toEqual([...left, ...(second as SendOutboxRow[]).map((r) => r.messageId)]);
    const stored = await db.messages.bulkGet(rows.map((r) => r.messageId));
    stored.forEach((m, i) => {
      if (unanswered(i)) expect(m).toMatchObject({ status: 'pending', seq: null });
      else if (i === 7) expect(m).toMatchObject({ status: 'failed', seq: null, error: { code: 'not-member' } });
      else expect(m).toMatchObject({ status: 'sent', seq: expect.any(Number), pos: m?.seq, audienceCount: 2 });
    });
  });

  it('answers arriving together, of several conversations, are applied in one go; a row the echo stored already is kept', async () => {
    const db = await openDb();
    const outbox = new MessageOutbox(db);
    await queue(db, [items('c1', 30, 'x'), items('c2', 30, 'y'), items('c1', 30, 'z')]);
    const [a, b, c] = (await outbox.readBatches(3, 30)) as SendOutboxRow[][];
    // The server's echo stored the first message of `a` already (with the seq the answer will carry).
    const echoed = accepted(a![0]!);
    const echoRow = await db.messages.get(a![0]!.messageId);
    await db.messages.put({ ...echoRow!, status: 'sent', seq: echoed.message!.seq, sentAt: 5, audienceCount: 2, pos: echoed.message!.seq, text: 'as the echo stored it' });
    const answers = [
      outbox.applyResults(a!, [echoed, ...a!.slice(1).map(accepted)]),
      outbox.applyResults(c!, c!.map(accepted)),
      outbox.applyResults(b!, b!.slice(0, 10).map(accepted)),
    ];
    expect(await Promise.all(answers)).toEqual([30, 30, 10]);
    expect(await queuedIds(db)).toEqual(b!.slice(10).map((r) => r.messageId));
    expect(await db.messages.get(a![0]!.messageId)).toMatchObject({ status: 'sent', text: 'as the echo stored it' });
    const all = await db.messages.toArray();
    expect(all.filter((m) => m.status === 'sent')).toHaveLength(70);
    expect(all.filter((m) => m.status === 'pending').map((m) => m.id)).toEqual(expect.arrayContaining(b!.slice(10).map((r) => r.messageId)));
  });

  it('rows queued with `msg:<id>` keys (an earlier version) are applied as before, beside rows keyed in send order', async () => {
    const db = await openDb();
    const outbox = new MessageOutbox(db);
    const old = items('c1', 5, 'o');
    // As an earlier version stored them.
    await db.transaction('rw', [db.messages, db.outbox], async () => {
      for (const [i, it] of old.entries()) {
        const [row, q] = sendNow(it.out, 'group', 'alice', it.out.createdAt + i);
        await db.messages.add(row);
        const legacy: SendOutboxRow = { ...q, key: messageKey(it.out.id) };
        await db.outbox.add(legacy);
      }
    });
    await queue(db, [items('c1', 5, 'n')]);
    const [rows] = (await outbox.readBatches(1, 100)) as SendOutboxRow[][];
    expect(rows!.map((r) => r.messageId.slice(0, 1))).toEqual(['o', 'o', 'o', 'o', 'o', 'n', 'n', 'n', 'n', 'n']);
    expect(await outbox.applyResults(rows!, rows!.filter((_, i) => i !== 2 && i !== 7).map(accepted))).toBe(8);
    expect(await queuedIds(db)).toEqual([rows![2]!.messageId, rows![7]!.messageId]);
    expect((await db.messages.toArray()).filter((m) => m.status === 'sent')).toHaveLength(8);
    // The next pass: the rest, keys of both kinds.
    const [rest] = (await outbox.readBatches(1, 100)) as SendOutboxRow[][];
    expect(await outbox.applyResults(rest!, rest!.map(accepted))).toBe(2);
    expect(await db.outbox.count()).toBe(0);
    expect((await db.messages.toArray()).every((m) => m.status === 'sent')).toBe(true);
  });

  it('never drops a row queued after the batch was read, even between its keys', async () => {
    const db = await openDb();
    const outbox = new MessageOutbox(db);
    await queue(db, [items('c1', 10, 'p')]);
    const [rows] = (await outbox.readBatches(1, 100)) as SendOutboxRow[][];
    // Queued while the batch was on the wire (send order continues after it).
    await queue(db, [items('c1', 3, 'q')]);
    expect(await outbox.applyResults(rows!, rows!.map(accepted))).toBe(10);
    expect(await queuedIds(db)).toEqual(['q00000000', 'q00000001', 'q00000002']);
  });
});
