// `npm start`: builds the demo if needed, then runs the reference sync server
// with embedded SQLite in .data/, dev tokens and the demo served from the same
// origin. Ctrl-C stops the server cleanly (it closes its database).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemo } from './buildDemo.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const port = Number(process.env.PORT ?? 8787);
const dbPath = process.env.READSYNC_DB ?? join(repo, '.data', 'readsync.db');

console.log('readsync: building the demo (skipped when up to date)…');
const dist = await buildDemo();
mkdirSync(join(repo, '.data'), { recursive: true });

const server = spawn(
  process.execPath,
  ['--import', 'tsx', join(repo, 'src', 'server', 'cli.ts'), '--port', String(port), '--db', dbPath, '--dev', '--static', dist],
  { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] },
);

let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  server.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
server.on('exit', (code, signal) => {
  if (!stopping) console.error(`readsync: the server exited (${signal ?? code})`);
  process.exit(stopping ? 0 : (code ?? 1));
});

// Print the URL once the server answers.
const url = `http://localhost:${port}/`;
for (let i = 0; i < 100 && !stopping && server.exitCode === null; i++) {
  try {
    const res = await fetch(url);
    if (res.ok) {
      console.log(`\n  readsync demo: ${url}\n  users: alice, bob, carol, dave (open two windows to play both sides)\n  Ctrl-C to stop.\n`);
      break;
    }
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 200));
}
