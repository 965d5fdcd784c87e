import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { PENDING_POS_BASE, ReadSyncDb, type MessageRow } from '../../worker/db/ReadSyncDb';
import { loadMessageWindow } from '../../worker/subscriptions/loadMessageWindow';

const dbs: ReadSyncDb[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

const row = (convId: string, pos: number, id = `${convId}_${String(pos).padStart(8, '0')}`): MessageRow => ({
  id,
  convId,
  convType: 'group',
  senderId: 'bob',
  text: `#${pos}`,
  needReadReceipt: true,
  createdAt: 1,
  seq: pos < PENDING_POS_BASE ? pos : null,
  sentAt: pos < PENDING_POS_BASE ? 1 : null,
  audienceCount: 2,
  status: pos < PENDING_POS_BASE ? 'sent' : 'pending',
  ackStatus: 'none',
  pos,
});

async function seed(rows: MessageRow[]): Promise<ReadSyncDb> {
  const db = new ReadSyncDb(`lm-${dbs.length}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  dbs.push(db);
  await db.messages.bulkPut(rows);
  return db;
}

const texts = (list: { text: string }[]) => list.map((m) => m.text);

describe('loadMessageWindow: the newest `limit` messages of one conversation, oldest first', () => {
  it('takes the window from the newest end, with pending messages last, never another conversation\'s rows', async () => {
    const db = await seed([
      ...[1, 2, 3, 5, 8].map((p) => row('team', p)),
      row('team', PENDING_POS_BASE + 10),
      // neighbours in the index on both sides: a shorter and a longer id with the same prefix
      ...[4, 6, 9, 100].map((p) => row('tea', p)),
      ...[0, 7, 200].map((p) => row('team2', p)),
    ]);
    const read = async (limit: number) => (await db.transaction('r', [db.messages, db.conversations, db.outbox], () => loadMessageWindow(db, 'team', limit))).messages;
    expect(texts(await read(1))).toEqual([`#${PENDING_POS_BASE + 10}`]);
    expect(texts(await read(3))).toEqual(['#5', '#8', `#${PENDING_POS_BASE + 10}`]);
    expect(texts(await read(6))).toEqual(['#1', '#2', '#3', '#5', '#8', `#${PENDING_POS_BASE + 10}`]);
    expect(texts(await read(50))).toEqual(['#1', '#2', '#3', '#5', '#8', `#${PENDING_POS_BASE + 10}`]);
    expect(await db.transaction('r', [db.messages, db.conversations, db.outbox], () => loadMessageWindow(db, 'nobody', 5))).toEqual({ convId: 'nobody', messages: [], limit: 5, hasOlder: false });
  });

  it('returns the rows without their storage-only fields', async () => {
    const db = await seed([{ ...row('team', 1), ackStatus: 'pending', ackSeq: 3, readAt: 5 }]);
    const [m] = (await db.transaction('r', [db.messages, db.conversations, db.outbox], () => loadMessageWindow(db, 'team', 5))).messages;
    expect(m).not.toHaveProperty('pos');
    expect(m).not.toHaveProperty('ackSeq');
    // no outbox row for seq 3: the ack has reached the server
    expect(m).toMatchObject({ ackStatus: 'sent', readAt: 5 });
  });
});
