import { describe, expect, it } from 'vitest';
import { packUpdates, unpackUpdates, type ReadState, type SubscriptionUpdate } from '../../src/bridge';

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
    expect(batch.readStates?.id).toEqual([1, 2, 3, 4]);
    expect(unpackUpdates(batch)).toEqual(updates);
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
    expect(batch.readStates?.id).toEqual([1]);
    expect(batch.updates?.map((u) => u.id)).toEqual([2, 3, 4, 5]);
    const back = unpackUpdates(batch);
    expect(back.sort((a, b) => a.id - b.id)).toEqual(updates);
  });

  it('columns from a worker before deliveries (no deliveredCount column) unpack with deliveredCount = readCount', () => {
    const batch = packUpdates([{ id: 1, value: state(3) }, { id: 2, value: state(5) }], () => true);
    delete batch.readStates!.deliveredCount;
    expect(unpackUpdates(structuredClone(batch)).map((u) => (u.value as ReadState).deliveredCount)).toEqual([3, 5]);
  });

  it('an empty batch unpacks to nothing, and a plain array (an older worker) is taken as it is', () => {
    expect(unpackUpdates(packUpdates([], () => true))).toEqual([]);
    const plain: SubscriptionUpdate[] = [{ id: 7, value: state(7) }];
    expect(unpackUpdates(plain)).toBe(plain);
  });
});
