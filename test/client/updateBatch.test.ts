import { describe, expect, it } from 'vitest';
import { packUpdates, unpackRange, unpackUpdates, type ReadState, type ReadStateColumns, type SubscriptionUpdate } from '../../src/bridge';

const state = (i: number, extra: Partial<ReadState> = {}): ReadState => ({
  messageId: `msg${String(i).padStart(8, '0')}`,
  convId: 'team',
  convType: 'group',
  direction: i % 2 ? 'outgoing' : 'incoming',
  needReadReceipt: true,
  status: 'sent',
  readCount: i,
  unreadCount: 10 - i,
  deliveredCount: i % 2 ? i + 1 : 0,
  isPeerRead: false,
  timestamp: 1_700_000_000_000 + i,
  ackStatus: i % 2 ? 'none' : 'sent',
  label: i % 2 ? `${i} read · ${10 - i} unread` : '',
  ...extra,
});

/** The columns a worker before issue 14 posted (`readStates`), built as it built them. */
function oldColumns(updates: { id: number; value: ReadState }[]): ReadStateColumns {
  const cols: ReadStateColumns = { id: [], messageId: [], convId: [], convType: [], direction: [], needReadReceipt: [], status: [], readCount: [], unreadCount: [], deliveredCount: [], isPeerRead: [], timestamp: [], ackStatus: [], label: [], error: {}, ackError: {} };
  updates.forEach(({ id, value: s }, row) => {
    cols.id.push(id);
    cols.messageId.push(s.messageId);
    cols.convId.push(s.convId);
    cols.convType.push(s.convType);
    cols.direction.push(s.direction);
    cols.needReadReceipt.push(s.needReadReceipt);
    cols.status.push(s.status);
    cols.readCount.push(s.readCount);
    cols.unreadCount.push(s.unreadCount);
    cols.deliveredCount!.push(s.deliveredCount);
    cols.isPeerRead.push(s.isPeerRead);
    cols.timestamp.push(s.timestamp);
    cols.ackStatus.push(s.ackStatus);
    cols.label.push(s.label);
    if (s.error) cols.error[row] = s.error;
    if (s.ackError) cols.ackError[row] = s.ackError;
  });
  return cols;
}

describe('update batches (the one sink\'s wire format)', () => {
  it('read states survive packing, a structured clone and unpacking exactly, errors included', () => {
    const failed = state(3, { status: 'failed', label: 'Failed: nope', error: { name: 'ReceiptRuleError', code: 'receipts-disabled', message: 'nope' } });
    const refused = state(4, { ackStatus: 'rejected', ackError: { name: 'ReceiptRuleError', code: 'not-member', message: 'left' } });
    const updates: SubscriptionUpdate[] = [
      { id: 1, value: state(1) },
      { id: 2, value: state(2) },
      { id: 3, value: failed },
      { id: 4, value: refused },
    ];
    const batch = structuredClone(packUpdates(updates, () => true));
    expect(batch.updates).toBeUndefined();
    expect([...batch.packed!.id]).toEqual([1, 2, 3, 4]);
    // Repeated strings travel once.
    expect(batch.packed!.strings.filter((x) => x === 'team')).toHaveLength(1);
    expect(unpackUpdates(batch)).toEqual(updates);
  });

  it('a large batch unpacks a slice at a time, each slice the same as the whole in order', () => {
    const updates: SubscriptionUpdate[] = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, value: state(i % 11, { messageId: `msg${String(i).padStart(8, '0')}`, readCount: i }) }));
    const batch = structuredClone(packUpdates(updates, () => true));
    const slices: SubscriptionUpdate[] = [];
    for (let from = 0; from < 1000; from += 64) slices.push(...unpackRange(batch, from, Math.min(1000, from + 64)));
    expect(slices).toEqual(updates);
  });

  it('a message id with a comma (never valid, but not trusted) still lands on its own subscription', () => {
    const updates: SubscriptionUpdate[] = [{ id: 1, value: state(1, { messageId: 'a,b' }) }, { id: 2, value: state(2) }];
    expect(unpackUpdates(structuredClone(packUpdates(updates, () => true)))).toEqual(updates);
  });

  it('columns from a worker before issue 14 (readStates) unpack the same', () => {
    const updates = [{ id: 1, value: state(1) }, { id: 2, value: state(2, { error: { name: 'ReceiptRuleError', code: 'receipts-disabled', message: 'nope' } }) }];
    expect(unpackUpdates(structuredClone({ readStates: oldColumns(updates) }))).toEqual(updates);
  });

  it('keeps every other update as it is: lists, null read states, errors, receipt batches', () => {
    const updates: SubscriptionUpdate[] = [
      { id: 1, value: state(1) },
      { id: 2, value: null },
      { id: 3, error: { name: 'StorageError', code: 'storage', message: 'damaged' } },
      { id: 4, value: [{ id: 'c1' }] },
      { id: 5, value: { connection: 'online', pendingAcks: 2 } },
    ];
    const readStateIds = new Set([1, 2, 3]);
    const batch = packUpdates(updates, (u) => readStateIds.has(u.id));
    expect([...batch.packed!.id]).toEqual([1]);
    expect(batch.updates?.map((u) => u.id)).toEqual([2, 3, 4, 5]);
    const back = unpackUpdates(batch);
    expect(back.sort((a, b) => a.id - b.id)).toEqual(updates);
  });

  it('columns from a worker before deliveries (no deliveredCount column) unpack with deliveredCount = readCount', () => {
    const batch = { readStates: oldColumns([{ id: 1, value: state(3) }, { id: 2, value: state(5) }]) };
    delete batch.readStates.deliveredCount;
    expect(unpackUpdates(structuredClone(batch)).map((u) => (u.value as ReadState).deliveredCount)).toEqual([3, 5]);
  });

  it('an empty batch unpacks to nothing, and a plain array (an older worker) is taken as it is', () => {
    expect(unpackUpdates(packUpdates([], () => true))).toEqual([]);
    const plain: SubscriptionUpdate[] = [{ id: 7, value: state(7) }];
    expect(unpackUpdates(plain)).toBe(plain);
  });
});
