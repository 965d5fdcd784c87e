/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a
 * temporary directory, `pg_ctl start` on a free loopback port, stopped (and
 * the directory removed) by `stop()` or when this process exits. No docker,
 * no mocks: Debian's server binaries (`apt-get install postgresql`), found in
 * /usr/lib/postgresql/<version>/bin or `READSYNC_PG_BIN`.
 *
 * PostgreSQL refuses to run as root, so as root the cluster runs as the
 * unprivileged `nobody` (its directory is handed to it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  /** postgres://readsync@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestPostgresOptions {
  /**
   * 'fast' (tests): fsync and synchronous_commit off, nothing survives a
   * crash of the cluster, which a test cluster never needs. 'durable'
   * (benchmarks): PostgreSQL's defaults, every commit flushed.
   */
  durability?: 'fast' | 'durable';
}

/** The directory of Debian's PostgreSQL server binaries, or a message saying how to get them. */
export function postgresBin(): string {
  const given = process.env.READSYNC_PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return join(root, versions[0], 'bin');
  throw new Error(
    'PostgreSQL server binaries not found (initdb, pg_ctl). Install them: `apt-get install postgresql` (Debian/Ubuntu), ' +
      'or set READSYNC_PG_BIN to the directory that holds initdb and pg_ctl.',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** uid/gid of `nobody` when we are root (PostgreSQL will not run as root), else nothing. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('running as root, and there is no `nobody` user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Starts a cluster; resolves once it accepts connections. */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  const user = runAs();
  const dataDir = mkdtempSync(join(tmpdir(), 'readsync-pg-'));
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    chmodSync(dataDir, 0o700);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(join(bin, cmd), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dataDir, ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  const cluster = join(dataDir, 'data');
  try {
    run('initdb', ['-D', cluster, '-U', 'readsync', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dataDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=200',
    '-c shared_buffers=64MB',
    ...(options.durability === 'durable' ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ];
  const stopNow = () => {
    spawnSync(join(bin, 'pg_ctl'), ['stop', '-D', cluster, '-m', 'immediate', '-w'], { stdio: 'ignore', cwd: dataDir, ...(user ?? {}) });
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    run('pg_ctl', ['start', '-D', cluster, '-w', '-t', '60', '-l', join(dataDir, 'log'), '-o', settings.join(' ')]);
  } catch (err) {
    const log = existsSync(join(dataDir, 'log')) ? readFileSync(join(dataDir, 'log'), 'utf8') : '';
    stopNow();
    throw new Error(`pg_ctl start failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}\n${log}`);
  }
  // A test process that dies without stop() must not leave a server behind.
  process.once('exit', stopNow);
  let stopped = false;
  return {
    url: `postgres://readsync@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      stopNow();
    },
  };
}
