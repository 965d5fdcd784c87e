/**
 * f. Member pages (issue 14): one page of 100 READ and UNREAD members of a
 * message in a 100,000-member group, at 0.1, 50, 90 and 99.9 % read, with
 * the readers spread at random over the members (seeded) or clustered first
 * in id order, against the same page in a 200-member group at 50 % read
 * (where both pages are full). Bars: READ ≤ 2×, UNREAD ≤ 5×.
 *
 * Pairs are interleaved: each pair times PAGE_CALLS calls of the small
 * group's page and then of the large group's, and its ratio is the ratio of
 * their medians; the verdict needs every pair on one side of the bar.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SyncCore } from '../../src/server/core/SyncCore';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import { judge, loadNow, median, ratioText, recordResult } from '../runner/verdict';

const uid = (i: number) => `u${String(i).padStart(6, '0')}`;
const MEMBERS = Number(process.env.BENCH_PAGE_MEMBERS ?? 100_000);
const SMALL = 200;
const SHARES = [0.001, 0.5, 0.9, 0.999];
const PAIRS = Number(process.env.BENCH_PAGE_PAIRS ?? 5);
const PAGE_CALLS = 30;
const MESSAGE = 'page-msg-0000001';

interface Group {
  core: SyncCore;
  store: SqliteStore;
  readers: number;
}

/**
 * A group of `members` (plus the sender alice) and one message asking for
 * receipts. SQLite on disk with synchronous=NORMAL: setting up 100,000 one-ack
 * batches with an fsync each would take minutes, and a page read is the same
 * either way (it reads, it does not commit).
 */
async function group(dir: string, name: string, members: number): Promise<Group> {
  const store = new SqliteStore({ filename: process.env.BENCH_PAGE_DISK ? join(dir, `pages-${name}.db`) : ':memory:', synchronous: 'normal' });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', ...Array.from({ length: members }, (_, i) => uid(i))] });
  await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: MESSAGE, convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }] });
  return { core, store, readers: 0 };
}

/** Readers ack the message until `order[0..k)` have read it. */
async function readUpTo(g: Group, order: readonly number[], k: number): Promise<void> {
  for (; g.readers < k; g.readers++) {
    const u = uid(order[g.readers] as number);
    await g.core.ackBatch(u, { type: 'ack-batch', batchId: `p-${u}`, acks: [{ m: MESSAGE, t: g.readers + 1 }] });
  }
}

/** Median time (ms) of PAGE_CALLS calls of one page; checks its size (full at 100,000 members). */
async function pageMs(g: Group, filter: 'read' | 'unread', members: number): Promise<number> {
  const expected = Math.min(100, filter === 'read' ? g.readers : members - g.readers);
  const req = { type: 'member-page' as const, messageId: MESSAGE, filter, count: 100 };
  const times: number[] = [];
  for (let i = 0; i < PAGE_CALLS; i++) {
    const t = performance.now();
    const { page } = await g.core.memberPage('alice', req);
    times.push(performance.now() - t);
    if (page.members.length !== expected) throw new Error(`bench: a ${filter} page of ${page.members.length}`);
  }
  return median(times);
}

/** Seeded shuffle (mulberry32), so "random" is the same spread in every run. */
function shuffled(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const xs = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as number, xs[i] as number];
  }
  return xs;
}

export async function memberPages(dir: string): Promise<void> {
  const small = await group(dir, 'small', SMALL);
  await readUpTo(
    small,
    Array.from({ length: SMALL / 2 }, (_, i) => i * 2),
    SMALL / 2,
  );
  console.log(`member page of 100 in a ${MEMBERS.toLocaleString('en-US')}-member group vs a ${SMALL}-member group at 50 % read; ${PAIRS} interleaved pairs of ${PAGE_CALLS}-call medians`);
  console.log('  page   share  read, spread    :   large vs small   ratio (median, spread of the pairs)');
  for (const spread of ['random', 'clustered'] as const) {
    const order = spread === 'random' ? shuffled(MEMBERS, 14) : Array.from({ length: MEMBERS }, (_, i) => i);
    const large = await group(dir, `large-${spread}`, MEMBERS);
    for (const share of SHARES) {
      const t0 = performance.now();
      await readUpTo(large, order, Math.round(MEMBERS * share));
      const setupS = (performance.now() - t0) / 1000;
      for (const filter of ['read', 'unread'] as const) {
        const bar = filter === 'read' ? 2 : 5;
        const load = loadNow();
        const ratios: number[] = [];
        const smallMs: number[] = [];
        const largeMs: number[] = [];
        await pageMs(small, filter, SMALL);
        await pageMs(large, filter, MEMBERS);
        for (let p = 0; p < PAIRS; p++) {
          const s = await pageMs(small, filter, SMALL);
          const l = await pageMs(large, filter, MEMBERS);
          smallMs.push(s);
          largeMs.push(l);
          ratios.push(l / s);
        }
        const j = judge(ratios, bar);
        const name = `f. member page ${filter.toUpperCase()}, ${(share * 100).toString()} % read, ${spread}`;
        console.log(
          `  ${`${filter.padEnd(6)} ${`${share * 100} %`.padStart(6)} read, ${spread.padEnd(9)}`} : ${(median(largeMs) * 1000).toFixed(0).padStart(6)} µs vs ${(median(smallMs) * 1000).toFixed(0).padStart(4)} µs  ratio ${ratioText(j)}  bar ≤ ${bar}×  ${j.verdict}  load ${load[0]}${filter === 'read' ? `  (readers added in ${setupS.toFixed(1)} s)` : ''}`,
        );
        recordResult({ key: 'server', name, ratio: j.ratio, spread: [j.min, j.max], pairs: j.pairs, bar: `≤ ${bar}×`, verdict: j.verdict, load, lib: median(largeMs), raw: median(smallMs), unit: 'ms' });
      }
    }
    await large.core.close();
    await large.store.close();
  }
  await small.core.close();
  await small.store.close();
  console.log('');
}
