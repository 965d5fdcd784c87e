import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpEventStream, WS_CLOSE_TOKEN_EXPIRED, type WebSocketLike } from '../../worker/transport/HttpEventStream';
import type { EventStreamStatus } from '../../worker/transport/Transport';

/** A scripted WebSocket: the test opens and closes it with any code. */
class FakeSocket implements WebSocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code?: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  serverClose(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  close(): void {
    this.readyState = 3;
  }
}

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.made = [];
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
    FakeSocket.made[0]!.open();
    FakeSocket.made[0]!.serverClose(WS_CLOSE_TOKEN_EXPIRED);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(statuses).toEqual(['connecting', 'open', 'unauthorized']);
  });

  it('still reconnects after other close codes (4000: resume from the cursor)', () => {
    vi.useFakeTimers();
    const { statuses } = stream();
    FakeSocket.made[0]!.open();
    FakeSocket.made[0]!.serverClose(4000);
    vi.advanceTimersByTime(100);
    expect(FakeSocket.made).toHaveLength(2);
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting']);
  });
});
