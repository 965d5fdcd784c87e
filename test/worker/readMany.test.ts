import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ReadSyncDb, type MessageRow } from '../../worker/db/ReadSyncDb';
import { readMany, readMessages } from '../../worker/store/readMany';
import { loadQueuedAcks } from '../../worker/store/queuedAcks';
import { ackKey, positionKey } from '../../worker/db/ackKeys';

const row = (i: number) => ({ key: `k${String(i).padStart(5, '0')}`, value: i });

describe('readMany', () => {
  it('returns rows in the order asked, undefined where absent, on both the per-key and the whole-table path', async () => {
    const db = new ReadSyncDb('rm', { indexedDB: new IDBFactory(), IDBKeyRange });
    await db.meta.bulkPut(Array.from({ length: 2000 }, (_, i) => row(i)));
    for (const n of [10, 300, 1500]) {
      const keys = Array.from({ length: n }, (_, i) => row((i * 7) % 2000).key).reverse();
      keys.splice(3, 0, 'missing');
      const rows = await readMany(db.meta, keys);
      expect(rows).toHaveLength(keys.length);
      expect(rows[3]).toBeUndefined();
      rows.forEach((r, i) => {
        if (i !== 3) expect(r?.key).toBe(keys[i]);
      });
    }
    db.close();
  });
});

describe('readMessages (position hints from the screen)', () => {
  // Random-looking ids, as newMessageId makes: neighbours in a conversation are not neighbours by key.
  const idOf = (conv: string, seq: number) => `${((seq * 7919) % 10007).toString(36)}-${conv}-${seq}`;
  const msg = (conv: string, seq: number): MessageRow =>
    ({ id: idOf(conv, seq), convId: conv, convType: 'group', senderId: 'alice', text: `m${seq}`, needReadReceipt: true, createdAt: seq, status: 'sent', ackStatus: 'none', seq, pos: seq }) as MessageRow;

  async function world() {
    const db = new ReadSyncDb('rmsg', { indexedDB: new IDBFactory(), IDBKeyRange });
    await db.messages.bulkPut([...Array.from({ length: 3000 }, (_, i) => msg('a', i + 1)), ...Array.from({ length: 1000 }, (_, i) => msg('b', i + 1))]);
    return db;
  }

  it('reads hinted neighbours as one range per conversation, and only the rest by key, with the same rows as readMany', async () => {
    const db = await world();
    const ids = [...Array.from({ length: 600 }, (_, i) => idOf('a', 1001 + i)), ...Array.from({ length: 300 }, (_, i) => idOf('b', 200 + i)), 'unknown', idOf('a', 7)];
    const hint = (id: string) => {
      const [, conv, seq] = id.split('-');
      // Nothing known about 'unknown' nor about message a/7 (not on screen).
      return id === 'unknown' || id === idOf('a', 7) ? undefined : { convId: conv as string, pos: Number(seq) };
    };
    const byKey: string[][] = [];
    const bulkGet = db.messages.bulkGet.bind(db.messages);
    db.messages.bulkGet = ((keys: string[]) => {
      byKey.push([...keys]);
      return bulkGet(keys);
    }) as typeof db.messages.bulkGet;
    const rows = await db.transaction('r', db.messages, () => readMessages(db.messages, ids, hint));
    // Only what no hint placed was read by key.
    expect(byKey.flat().sort()).toEqual(['unknown', idOf('a', 7)].sort());
    expect(rows.map((r) => r?.id)).toEqual(ids.map((id) => (id === 'unknown' ? undefined : id)));
    expect(rows.map((r) => r?.text)).toEqual(await readMany(db.messages, ids).then((rs) => rs.map((r) => r?.text)));
    db.close();
  });

  it('falls back to reads by key when a hint is stale or positions are sparse, and still returns the stored rows', async () => {
    const db = await world();
    const ids = Array.from({ length: 400 }, (_, i) => idOf('a', 1 + i * 7)); // sparse: a span of 2,794 for 400 ids
    const wrong = (id: string) => ({ convId: 'b', pos: Number(id.split('-')[2]) }); // stale: the wrong conversation
    for (const hint of [wrong, (id: string) => ({ convId: 'a', pos: Number(id.split('-')[2]) })]) {
      const rows = await db.transaction('r', db.messages, () => readMessages(db.messages, ids, hint));
      expect(rows.map((r) => r?.id)).toEqual(ids);
      expect(rows.every((r) => r?.convId === 'a')).toBe(true);
    }
    db.close();
  });
});

describe('loadQueuedAcks (which reads are still queued)', () => {
  const pending = (i: number, extra: Partial<MessageRow> = {}): MessageRow =>
    ({ id: `m${i}`, convId: 'c', convType: 'group', senderId: 'alice', text: '', needReadReceipt: true, createdAt: i, status: 'sent', ackStatus: 'pending', ackSeq: i + 1, seq: i + 1, pos: i + 1, readAt: 1, ...extra }) as MessageRow;

  it('tells queued from sent for many acks, with flushed ones, read positions and keys spread over the outbox', async () => {
    const db = new ReadSyncDb('qa', { indexedDB: new IDBFactory(), IDBKeyRange });
    const rows = [...Array.from({ length: 1200 }, (_, i) => pending(i)), pending(5000, { ackByPosition: 1, convId: 'p1' }), pending(5001, { ackStatus: 'none' })];
    // Queued: every ack but the flushed 100-399 and every 7th; also a far-away ack key and conversation p1's position.
    const queued = (i: number) => i < 1200 && !(i >= 100 && i < 400) && i % 7 !== 0;
    await db.outbox.bulkPut(rows.filter((_, i) => queued(i)).map((m) => ({ key: ackKey(m.ackSeq as number), kind: 'ack', messageId: m.id, readAt: 1 }) as never));
    await db.outbox.put({ key: positionKey('p1'), kind: 'position', convId: 'p1', seq: 1, readAt: 1 } as never);
    await db.outbox.put({ key: ackKey(90_000), kind: 'ack', messageId: 'elsewhere', readAt: 1 } as never);
    for (const asked of [rows, rows.slice(0, 300), rows.slice(1100)]) {
      const got = await db.transaction('r', db.outbox, () => loadQueuedAcks(db, asked));
      for (const m of asked) {
        const i = rows.indexOf(m);
        if (m.ackStatus !== 'pending') expect(got.has(m.id)).toBe(false);
        else expect([m.id, got.get(m.id)]).toEqual([m.id, m.ackByPosition === 1 ? true : queued(i)]);
      }
    }
    db.close();
  });
});
