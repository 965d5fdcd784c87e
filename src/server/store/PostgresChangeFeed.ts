import type { Client, Notification } from 'pg';
import type { ChangeFeed, ChangeListener, MessageRecord, StoreChange } from './Store';

/** Reconnect delays of the listening connection: doubling from the first to the last, in ms. */
const RETRY_MS = [100, 5_000] as const;

/**
 * `ChangeFeed` of `PostgresStore`: one dedicated connection per listener
 * that LISTENs on the schema's channel. Payloads are positions only:
 * `r <ackSeq>` (the global ack sequence committed up to there),
 * `m <convId> <fromSeq> <toSeq>` (messages stored at those positions),
 * `c <convId> <seq>` (created, or membership changed, at that position).
 *
 * If the connection drops (database restart, network), it reconnects with
 * backoff and, once listening again, calls `resync()`: notifications sent
 * meanwhile are lost, so the listener catches up from the database.
 */
export class PostgresChangeFeed implements ChangeFeed {
  constructor(
    private readonly connect: () => Promise<Client>,
    private readonly channel: string,
    readonly receiptStatesAfter: (afterAckSeq: number, limit: number) => Promise<MessageRecord[]>,
    private readonly onError: (err: unknown) => void = (err) => console.error('readsync: PostgreSQL listener:', err),
  ) {}

  async listen(listener: ChangeListener): Promise<() => Promise<void>> {
    let stopped = false;
    let client: Client | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let delay: number = RETRY_MS[0];

    const onNotification = (n: Notification) => {
      if (n.channel !== this.channel || n.payload === undefined) return;
      const change = parse(n.payload);
      if (change) listener.change(change);
    };
    const open = async (): Promise<void> => {
      const c = await this.connect();
      c.on('notification', onNotification);
      c.on('error', (err) => lost(c, err));
      c.on('end', () => lost(c));
      await c.query(`LISTEN ${c.escapeIdentifier(this.channel)}`);
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      delay = RETRY_MS[0];
    };
    const lost = (c: Client, err?: unknown) => {
      if (c !== client || stopped) return;
      client = undefined;
      if (err) this.onError(err);
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      schedule();
    };
    const schedule = () => {
      retry = setTimeout(() => {
        open().then(
          () => {
            if (!stopped) listener.resync();
          },
          (err: unknown) => {
            if (stopped) return;
            this.onError(err);
            delay = Math.min(delay * 2, RETRY_MS[1]);
            schedule();
          },
        );
      }, delay);
      retry.unref();
    };

    await open();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    };
  }
}

function parse(payload: string): StoreChange | undefined {
  const [kind, a, b, c] = payload.split(' ');
  if (kind === 'r' && a) return { kind: 'receipts', position: Number(a) };
  if (kind === 'm' && a && b && c) return { kind: 'messages', convId: a, fromSeq: Number(b), toSeq: Number(c) };
  if (kind === 'c' && a && b) return { kind: 'conversation', convId: a, seq: Number(b) };
  if (kind === 'u' && a && b && c) return { kind: 'reads', userId: a, afterAckSeq: Number(b), positions: c === '1' };
  if (kind === 's' && a) return { kind: 'settings', userId: a };
  return undefined;
}
