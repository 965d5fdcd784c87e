import type { WebSocketLike } from '../../worker/transport/HttpEventStream';

/**
 * A scripted WebSocket for event-stream tests: every instance is recorded in
 * `made` (pass a fresh array per test), and the test plays the server by
 * calling `open()`, `onmessage` and `serverClose(code)`.
 */
export function fakeWebSocketClass(made: FakeWebSocket[]) {
  return class extends FakeWebSocket {
    constructor(url: string) {
      super(url);
      made.push(this);
    }
  };
}

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code?: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
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
