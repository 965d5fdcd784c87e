import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSyncServer, type SyncServer } from '../../../src/server/createSyncServer';
import { SqliteStore } from '../../../src/server/store/SqliteStore';
import { DEMO_USERS, seedDemo } from '../../../src/server/seedDemo';
import { demoDist } from '../../../scripts/buildDemo.mjs';

/** The seeded world every scenario starts from: what `npm start` seeds (seedDemo): alice, bob, carol, dave in a 'work' group. */
export const WORLD = { users: DEMO_USERS, group: 'team' } as const;

/** The reference server as the demo meets it: SQLite in a temp file, dev tokens, the built demo on the same origin. */
export class DemoServer {
  url = '';
  port = 0;
  /** The c2c conversation of alice and bob. */
  c2c = '';
  /** Signs tokens and cursors. A restart with another secret invalidates every token handed out (as a key rotation would). */
  secret = 'e2e-secret-of-the-demo-tests';
  /**
   * Users whose requests the server drops without an answer (their sockets are destroyed), as a network
   * partition would. Playwright's offline emulation covers the page, but not every request of a dedicated
   * worker, and the outbox's slow timer probes now and then even while the page says offline.
   */
  readonly cutOff = new Set<string>();
  /** Every request the server answered, as "METHOD /path" (to count ack batches). */
  readonly requests: string[] = [];
  /** The message id of every ack the server was sent, in arrival order (a retried batch counts again). */
  readonly ackedIds: string[] = [];
  private server: SyncServer | null = null;
  private store: SqliteStore | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'readsync-e2e-'));

  /** `staticDir`: the app it serves on its origin (default: the built demo). */
  constructor(private readonly staticDir: string = demoDist) {}

  /** Starts on `port` (0 = a free one; a restart reuses the first port and the same database file). */
  async start(port = this.port): Promise<this> {
    this.store = new SqliteStore({ filename: join(this.dir, 'readsync.db') });
    // A fixed secret keeps tokens and member-page cursors valid across a restart.
    this.server = await createSyncServer({ store: this.store, config: { devMode: true, staticDir: this.staticDir, secret: this.secret } });
    this.server.app.addHook('onRequest', async (req, reply) => {
      const user = req.headers['x-readsync-user'] ?? (req.query as Record<string, unknown> | undefined)?.user;
      if (typeof user === 'string' && this.cutOff.has(user)) {
        reply.hijack();
        req.raw.socket.destroy();
      }
    });
    this.server.app.addHook('preHandler', async (req) => {
      const acks = req.method === 'POST' && req.url.startsWith('/v1/acks') ? (req.body as { acks?: unknown } | undefined)?.acks : undefined;
      if (Array.isArray(acks)) for (const a of acks) if (typeof (a as { m?: unknown })?.m === 'string') this.ackedIds.push((a as { m: string }).m);
    });
    this.server.app.addHook('onResponse', async (req) => {
      this.requests.push(`${req.method} ${req.url.split('?')[0] ?? ''}`);
    });
    const seeded = await seedDemo(this.server.core);
    if (seeded.groupId !== WORLD.group) throw new Error(`the demo seed changed: group ${seeded.groupId}`);
    this.c2c = seeded.c2cId;
    const { url, port: actual } = await this.server.listen(port, '127.0.0.1');
    this.url = `${url}/`;
    this.port = actual;
    return this;
  }

  /** Stops listening and closes the database (open WebSockets are cut). */
  async stop(): Promise<void> {
    await this.server?.close();
    await this.store?.close();
    this.server = null;
    this.store = null;
  }

  /** The running server's rules core (to seed conversations, join members). */
  get core(): SyncServer['core'] {
    if (!this.server) throw new Error('the demo server is not running');
    return this.server.core;
  }

  /** Ack batches POSTed so far. */
  ackRequests(): number {
    return this.requests.filter((r) => r.startsWith('POST /v1/acks')).length;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
