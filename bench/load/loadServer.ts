/**
 * The reference server as its own process, for the load benchmarks: the load
 * generator runs in another process, so the server's event loop, CPU and
 * memory are its own. Started by `spawnLoadServer`; never run by hand.
 *
 * Reads its setup from the BENCH_LOAD_SERVER environment variable (JSON,
 * `LoadServerSetup`), seeds the database, listens on 127.0.0.1 port 0 and
 * reports `{ url }` over IPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PostgresStore, SqliteStore, createSyncServer } from '../../src/server';
import type { Store, SyncServerConfig } from '../../src/server';
import { BENCH_SECRET, groupOf, messageId, userId } from './loadNames';
import type { LoadServerSetup } from './loadNames';

async function main(): Promise<void> {
  const setup = JSON.parse(process.env.BENCH_LOAD_SERVER ?? '{}') as LoadServerSetup;
  const dir = mkdtempSync(join(tmpdir(), 'readsync-load-'));
  const store: Store = setup.pg
    ? await PostgresStore.open({ connectionString: setup.pg.url, schema: setup.pg.schema })
    : new SqliteStore({ filename: join(dir, 'load.db'), synchronous: setup.synchronous ?? 'full' });
  const config: SyncServerConfig = { secret: BENCH_SECRET, ...setup.config };
  const server = await createSyncServer({ store, config });
  const seed = !setup.pg || setup.pg.seed;

  // Users u00000…, in groups of `groupSize`; each sends `messagesPerUser` messages that ask for receipts.
  const groups = seed ? Math.ceil(setup.users / setup.groupSize) : 0;
  for (let g = 0; g < groups; g++) {
    const members = Array.from({ length: Math.min(setup.groupSize, setup.users - g * setup.groupSize) }, (_, i) => userId(g * setup.groupSize + i));
    await server.core.admin.createGroup({ id: `g${g}`, name: `G${g}`, groupType: 'work', members });
  }
  for (let u = 0; seed && u < setup.users; u++) {
    const messages = Array.from({ length: setup.messagesPerUser }, (_, i) => ({ id: messageId(u, i), convId: groupOf(u, setup.groupSize), text: 'load', needReadReceipt: true, createdAt: 1 }));
    for (let i = 0; i < messages.length; i += 100) await server.core.sendMessages(userId(u), { type: 'send-messages', messages: messages.slice(i, i + 100) });
  }

  const { url } = await server.listen(0, '127.0.0.1');
  const stop = async () => {
    await server.close().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  // Event-loop delay while serving: how late a 10 ms timer fires is how long the loop was busy.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  process.on('message', (m) => {
    if (m === 'stop') void stop();
    if (m === 'loop-delay-start') {
      delay.reset();
      delay.enable();
    }
    if (m === 'loop-delay') {
      delay.disable();
      process.send?.({ loopDelay: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 } });
    }
  });
  process.on('disconnect', () => void stop());
  process.send?.({ url });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
