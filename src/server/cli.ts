#!/usr/bin/env node
/**
 * The reference sync server as a command (`readsync-server`, or
 * `npx tsx src/server/cli.ts` from a checkout). `--help` prints the usage.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TokenAuth } from './auth/TokenAuth';
import { createSyncServer } from './createSyncServer';
import { DEMO_USERS, seedDemo } from './seedDemo';
import { SqliteStore } from './store/SqliteStore';
import type { Store } from './store/Store';

const USAGE = `Usage:
  readsync-server [options]                 run the reference sync server
  readsync-server token --user <id> [opts]  print a bearer token for a user (same secret as the server)

Server options:
  --port <n>            port (env PORT; default 8787; 0 picks a free one)
  --host <addr>         interface to bind (env HOST; default 127.0.0.1; an empty value means the default)
  --db <file>           SQLite database file (default: in memory, lost on exit); created mode 600
  --sqlite-synchronous <full|normal>
                        full (default): every acknowledged write survives power loss.
                        normal: faster ingest, but the last commits before a power loss can vanish
  --pg <url>            PostgreSQL instead of SQLite (env DATABASE_URL): run several of these servers
                        ("nodes") on one database behind any load balancer; needs READSYNC_SECRET
                        (the same on every node) and the pg package (npm install pg@8)
  --migrate             with --pg: create or upgrade the schema, then exit (run once per deploy)
  --pg-schema <name>    schema holding readsync's tables (default readsync)
  --pg-pool <n>         connections per node (default 10)
  --cors <origin>       allow a web app on another origin (e.g. https://app.example.com, or *)
  --static <dir>        serve a built SPA/PWA from the same origin
  --dev                 dev mode: POST /v1/dev/token issues tokens for anyone, demo data. Never in production
  --secret <s>          signs tokens and cursors. Prefer the READSYNC_SECRET environment variable:
                        a command-line argument is visible to every user of this machine (ps).
                        With --db and no secret, one is generated once and kept in <db>.secret (mode 600)
  -h, --help            this text

Token options:
  --user <id>           the user the token authenticates (required)
  --ttl <duration>      lifetime: 3600s, 90m, 12h or 30d (default 30d)
  --db <file>, --secret <s>
                        where the secret comes from, as for the server (READSYNC_SECRET works too)
`;

class UsageError extends Error {}

function loadSecret(db: string | undefined, given: string | undefined, create: boolean): string | undefined {
  if (given) return given;
  if (!db) return undefined;
  const file = `${db}.secret`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) return undefined;
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** Creates the database file readable by its owner only (it holds every message), before SQLite opens it. */
function createPrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
}

/** The URL without its password, for the log. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(connection string)';
  }
}

function parseDuration(s: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (!m) throw new UsageError(`--ttl: not a duration: ${s} (e.g. 3600s, 90m, 12h, 30d)`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function dbPath(value: string | undefined): string | undefined {
  return value && value !== ':memory:' ? resolve(value) : undefined;
}

function printToken(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: { user: { type: 'string' }, ttl: { type: 'string', default: '30d' }, db: { type: 'string' }, secret: { type: 'string', default: process.env.READSYNC_SECRET } },
  });
  if (!values.user) throw new UsageError('token: --user <id> is required');
  const secret = loadSecret(dbPath(values.db), values.secret, false);
  if (!secret) throw new UsageError('token: no secret: pass --db <file> (its <file>.secret) or set READSYNC_SECRET, the same as the server');
  console.log(new TokenAuth(secret).issue(values.user, parseDuration(values.ttl)));
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: process.env.PORT || '8787' },
      host: { type: 'string', default: process.env.HOST || '127.0.0.1' },
      db: { type: 'string' },
      'sqlite-synchronous': { type: 'string', default: 'full' },
      pg: { type: 'string', default: process.env.DATABASE_URL || undefined },
      migrate: { type: 'boolean', default: false },
      'pg-schema': { type: 'string', default: 'readsync' },
      'pg-pool': { type: 'string', default: '10' },
      cors: { type: 'string' },
      dev: { type: 'boolean', default: false },
      static: { type: 'string' },
      secret: { type: 'string', default: process.env.READSYNC_SECRET },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: not a port: ${values.port}`);
  const host = values.host === '' ? '127.0.0.1' : values.host;
  const synchronous = values['sqlite-synchronous'];
  if (synchronous !== 'full' && synchronous !== 'normal') throw new UsageError(`--sqlite-synchronous: full or normal, not ${synchronous}`);
  const pgUrl = values.pg || undefined;
  if (values.migrate && !pgUrl) throw new UsageError('--migrate: needs --pg <url> (or DATABASE_URL)');
  if (pgUrl && values.db) throw new UsageError('--pg and --db: choose one storage');
  let store: Store;
  let secret: string | undefined;
  let db: string | undefined;
  let storage: string;
  if (pgUrl) {
    const poolSize = Number(values['pg-pool']);
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new UsageError(`--pg-pool: a positive integer, not ${values['pg-pool']}`);
    // Loaded only here: SQLite users need not install pg.
    const { PostgresStore } = await import('./store/PostgresStore');
    const options = { connectionString: pgUrl, schema: values['pg-schema'], poolSize };
    if (values.migrate) {
      const { from, to } = await PostgresStore.migrate(options);
      console.log(from === to ? `readsync: schema "${options.schema}" is up to date (version ${to})` : `readsync: schema "${options.schema}" migrated from version ${from} to ${to}`);
      return;
    }
    // Every node must sign and check tokens and cursors alike: a random per-process secret would not do.
    if (!values.secret) throw new UsageError('--pg: set READSYNC_SECRET (the same on every node): tokens and cursors signed by one node must verify on the others');
    store = await PostgresStore.open(options);
    secret = values.secret;
    storage = `PostgreSQL ${redactUrl(pgUrl)} (schema ${options.schema}, ${poolSize} connections)`;
  } else {
    db = dbPath(values.db);
    if (db) createPrivateFile(db);
    store = new SqliteStore({ filename: db ?? ':memory:', synchronous });
    secret = loadSecret(db, values.secret, true);
    storage = db ? `${db} (synchronous=${synchronous})` : 'in memory (lost on exit)';
  }
  const staticDir = values.static ? resolve(values.static) : undefined;
  if (staticDir && !existsSync(staticDir)) console.warn(`readsync: --static ${staticDir} does not exist (build the demo first); serving the API only`);

  const server = await createSyncServer({
    store,
    config: {
      devMode: values.dev,
      secret,
      staticDir: staticDir && existsSync(staticDir) ? staticDir : undefined,
      ...(values.cors ? { corsOrigin: values.cors } : {}),
    },
  });
  if (values.dev) await seedDemo(server.core);
  // Before listening: a SIGTERM that arrives as soon as the URL is printed must shut down cleanly,
  // not find the default action (kill) still in place.
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
  const { url } = await server.listen(port, host);

  console.log(`readsync sync server listening on ${url}`);
  console.log(`  storage: ${storage}`);
  if (!secret) console.log('  secret: random for this process (tokens and cursors die with it; set READSYNC_SECRET or use --db)');
  if (values.cors) console.log(`  CORS: ${values.cors}`);
  if (values.dev) console.log(`  dev mode: POST ${url}/v1/dev/token {"userId": "alice"} issues tokens; demo users: ${DEMO_USERS.join(', ')}`);
  if (staticDir && existsSync(staticDir)) console.log(`  app: ${url}/`);

}

const argv = process.argv.slice(2);
(argv[0] === 'token' ? Promise.resolve().then(() => printToken(argv.slice(1))) : serve(argv)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`readsync-server: ${message}`);
  const usage = err instanceof UsageError || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
  if (usage) console.error('Run readsync-server --help for the usage.');
  process.exit(usage ? 2 : 1);
});
