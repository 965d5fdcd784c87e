#!/usr/bin/env node
/**
 * The reference sync server as a command:
 *
 *   npx tsx src/server/cli.ts --port 8787 --db .data/readsync.db --dev --static demo/dist
 *
 * Options: --port (default 8787), --host (default 127.0.0.1), --db (SQLite file;
 * default in memory), --dev (dev mode: token route and demo seed), --static
 * (serve a built SPA from the same origin), --secret (or READSYNC_SECRET; with a
 * --db file and no secret, one is generated once and kept in <db>.secret so
 * tokens and cursors survive restarts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSyncServer } from './createSyncServer';
import { DEMO_USERS, seedDemo } from './seedDemo';
import { SqliteStore } from './store/SqliteStore';

function loadSecret(db: string | undefined, given: string | undefined): string | undefined {
  if (given) return given;
  if (!db || db === ':memory:') return undefined;
  const file = `${db}.secret`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8787' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      db: { type: 'string' },
      dev: { type: 'boolean', default: false },
      static: { type: 'string' },
      secret: { type: 'string', default: process.env.READSYNC_SECRET },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  const db = values.db && values.db !== ':memory:' ? resolve(values.db) : undefined;
  if (db) mkdirSync(dirname(db), { recursive: true });
  const store = new SqliteStore({ filename: db ?? ':memory:' });
  const secret = loadSecret(db, values.secret);
  const staticDir = values.static ? resolve(values.static) : undefined;
  if (staticDir && !existsSync(staticDir)) console.warn(`readsync: --static ${staticDir} does not exist (build the demo first); serving the API only`);

  const server = await createSyncServer({
    store,
    config: { devMode: values.dev, secret, staticDir: staticDir && existsSync(staticDir) ? staticDir : undefined },
  });
  if (values.dev) seedDemo(server.core);
  const { url } = await server.listen(port, values.host);

  console.log(`readsync sync server listening on ${url}`);
  console.log(`  storage: ${db ?? 'in memory (lost on exit)'}`);
  if (values.dev) console.log(`  dev mode: POST ${url}/v1/dev/token {"userId": "alice"} issues tokens; demo users: ${DEMO_USERS.join(', ')}`);
  if (staticDir && existsSync(staticDir)) console.log(`  app: ${url}/`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`readsync: ${signal}, shutting down`);
    server
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`readsync: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
