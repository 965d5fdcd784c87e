import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TokenAuth } from '../../src/server/auth/TokenAuth';
import { BENCH_SECRET } from './loadNames';
import type { LoadServerSetup } from './loadNames';

/** A reference server in a child process (loopback, port 0), with its memory and CPU readable from /proc. */
export interface LoadServer {
  url: string;
  pid: number;
  token(userId: string): string;
  /** Resident set size now and at its peak (VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  /** CPU time (user + system) the server process has used so far, in ms. */
  cpuMs(): number;
  /** Starts measuring the server's event-loop delay. */
  startLoopDelay(): void;
  /** The server's event-loop delay since `startLoopDelay` (ms): how long its loop was busy before it got back to timers. */
  loopDelay(): Promise<{ p50: number; p99: number; max: number }>;
  stop(): Promise<void>;
}

export async function spawnLoadServer(setup: LoadServerSetup): Promise<LoadServer> {
  const entry = fileURLToPath(new URL('./loadServer.ts', import.meta.url));
  const child = fork(entry, [], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_LOAD_SERVER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_LOAD_SERVER_PROFILE}`] : [])],
    env: { ...process.env, BENCH_LOAD_SERVER: JSON.stringify(setup), NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`load server exited with ${code} before listening`)));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('load server has no pid');
  const auth = new TokenAuth(BENCH_SECRET);
  const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  const ticks = 100; // USER_HZ on Linux
  return {
    url,
    pid,
    token: (userId) => auth.issue(userId),
    memory: () => ({ rss: status('VmRSS'), peak: status('VmHWM') }),
    cpuMs() {
      // /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks (after the parenthesised name).
      const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return ((Number(rest[11]) + Number(rest[12])) * 1000) / ticks;
    },
    startLoopDelay() {
      child.send('loop-delay-start');
    },
    loopDelay() {
      return new Promise((resolve) => {
        const onMessage = (m: unknown) => {
          const d = (m as { loopDelay?: { p50: number; p99: number; max: number } }).loopDelay;
          if (!d) return;
          child.off('message', onMessage);
          resolve(d);
        };
        child.on('message', onMessage);
        child.send('loop-delay');
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
