import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpEventStream, WS_CLOSE_TOKEN_EXPIRED } from '../../worker/transport/HttpEventStream';
import { fakeWebSocketClass, type FakeWebSocket } from '../support/FakeWebSocket';
import type { EventStreamStatus } from '../../worker/transport/Transport';

const made: FakeWebSocket[] = [];
const FakeSocket = fakeWebSocketClass(made);

afterEach(() => {
  vi.useRealTimers();
  made.length = 0;
});

function stream() {
  const statuses: EventStreamStatus[] = [];
  const s = new HttpEventStream((since) => `ws://x/v1/events?since=${since}`, FakeSocket, { onEvent: () => undefined, onStatus: (st) => statuses.push(st) }, null, { baseMs: 10, maxMs: 10, random: () => 1 });
  s.connect();
  return { s, statuses };
}

describe('HttpEventStream and an expired token', () => {
  it('does not reconnect after close code 4001: it reports unauthorized and waits for a new token', () => {
    vi.useFakeTimers();
    const { statuses } = stream();
    made[0]!.open();
    made[0]!.serverClose(WS_CLOSE_TOKEN_EXPIRED);
    vi.advanceTimersByTime(60_000);
    expect(made).toHaveLength(1);
    expect(statuses).toEqual(['connecting', 'open', 'unauthorized']);
  });

  it('still reconnects after other close codes (4000: resume from the cursor)', () => {
    vi.useFakeTimers();
    const { statuses } = stream();
    made[0]!.open();
    made[0]!.serverClose(4000);
    vi.advanceTimersByTime(100);
    expect(made).toHaveLength(2);
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting']);
  });
});

describe('HttpEventStream evicted for too many connections', () => {
  it('does not reconnect on its own after 4002 (tabs would take turns evicting each other)', () => {
    vi.useFakeTimers();
    const { statuses } = stream();
    made[0]!.open();
    made[0]!.serverClose(4002);
    vi.advanceTimersByTime(60_000);
    expect(made).toHaveLength(1);
    expect(statuses).toEqual(['connecting', 'open', 'evicted']);
  });
});

describe('two tabs of one user over the server’s socket cap (real server)', () => {
  it('the evicted tab stays down until its page becomes visible, then takes the stream back', async () => {
    const { startServer, NodeWebSocket } = await import('../server/httpFixture');
    const { IDBFactory, IDBKeyRange } = await import('fake-indexeddb');
    const { ReadSyncDb } = await import('../../worker/db/ReadSyncDb');
    const { ReadSyncWorker } = await import('../../worker/ReadSyncWorker');
    const { HttpTransport } = await import('../../worker/transport/HttpTransport');
    const s = await startServer({ config: { maxSocketsPerUser: 1 } });
    const factory = new IDBFactory();
    const statuses: EventStreamStatus[][] = [[], []];
    const tabs = [0, 1].map((i) => {
      const transport = new HttpTransport({ serverUrl: s.url, token: s.token('bob'), userId: 'bob', WebSocket: NodeWebSocket, reconnect: { baseMs: 10, maxMs: 20 } });
      const worker = new ReadSyncWorker({ db: new ReadSyncDb('readsync-bob', { indexedDB: factory, IDBKeyRange }), transport, userId: 'bob' });
      const engine = worker.engine as unknown as { deps: { onStreamStatus(st: EventStreamStatus): void } };
      const original = engine.deps.onStreamStatus;
      engine.deps.onStreamStatus = (st) => {
        statuses[i]!.push(st);
        original(st);
      };
      return worker;
    });
    try {
      await tabs[0]!.start();
      await vi.waitFor(() => expect(statuses[0]).toContain('open'));
      await tabs[1]!.start();
      await vi.waitFor(() => expect(statuses[0]).toContain('evicted'));
      await vi.waitFor(() => expect(statuses[1]).toContain('open'));
      await new Promise((r) => setTimeout(r, 200)); // several reconnect delays: tab 0 must not come back by itself
      expect(statuses[0]!.at(-1)).toBe('evicted');

      await tabs[0]!.setEnvironment({ visible: true });
      await vi.waitFor(() => expect(statuses[0]!.at(-1)).toBe('open'));
      await vi.waitFor(() => expect(statuses[1]!.at(-1)).toBe('evicted'));
    } finally {
      for (const t of tabs) await t.close();
      await s.close();
    }
  });
});
