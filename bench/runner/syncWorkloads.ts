/**
 * Message-sync workloads (issue 11): g. bulk send to the reference server,
 * h. opening a long conversation on a fresh install.
 */
import type { OutgoingMessage } from '../../src/protocol';
import { fromPairs, median } from './report';
import { N, pairs, type Workload } from './workload';

/** Measured runs per side after one warm-up (BENCH_REPS overrides; these runs are long). */
const REPS = Math.min(Number(process.env.BENCH_REPS ?? 2), 3);

const ms = (xs: { ms: number }[]): number => median(xs.map((x) => x.ms));

export const bulkSend: Workload = {
  key: 'send',
  name: 'g. 10,000 sendMessage → all on the server',
  async run(page, server) {
    const { core } = server.sync;
    const conv = (side: string, rep: string) => `g-send-${side}-${rep}`;
    const user = (side: string, rep: string) => `sender-${side}-${rep}`;
    const setup = async (side: string, rep: string) => core.admin.createGroup({ id: conv(side, rep), name: 'bench send', groupType: 'work', members: [user(side, rep), 'alice'] });
    // `await` also fits a store that answers synchronously.
    const onServer = async (convId: string) => (await core.store.messagesAfter(convId, 0, N + 1)).length;
    const batch = core.config.limits.maxMessageBatch;
    /**
     * "All on the server", seen from the server: polls the conversation's
     * position (one indexed lookup; it counts the messages stored) every 5 ms
     * until it reaches n, while the page works; resolves with that epoch time.
     */
    const watch = (convId: string, n: number) => {
      let stop = false;
      const done = (async () => {
        while (!stop) {
          const c = await core.store.getConversation(convId);
          if (c && c.seq >= n) return Date.now();
          await new Promise((r) => setTimeout(r, 5));
        }
        return NaN;
      })();
      return { done, stop: () => (stop = true) };
    };
    /** Runs one side; its figure is first call → the server holds all n. */
    const timed = async <T extends { startedAt: number }>(convId: string, run: () => Promise<T>): Promise<T & { serverMs: number }> => {
      const w = watch(convId, N);
      try {
        const out = await run();
        const at = await Promise.race([w.done, new Promise<number>((r) => setTimeout(() => r(NaN), 10_000))]);
        return { ...out, serverMs: at - out.startedAt };
      } finally {
        w.stop();
      }
    };
    const r = await pairs(
      REPS,
      async (rep) => {
        await setup('raw', rep);
        const bodies: string[] = [];
        for (let i = 0; i < N; i += batch) {
          const messages: OutgoingMessage[] = Array.from({ length: Math.min(batch, N - i) }, (_, k) => ({
            id: `raw${rep}_${String(i + k).padStart(12, '0')}`.slice(-16),
            convId: conv('raw', rep),
            text: `bulk message number ${i + k}`,
            needReadReceipt: false,
            createdAt: Date.now(),
          }));
          bodies.push(JSON.stringify({ type: 'send-messages', messages }));
        }
        const out = await timed(conv('raw', rep), () =>
          page.evaluate(([t, url, token, c, u, b]) => window.bench.rawBulkSend(t, url, token, c, u, b), [
            `rg${rep}`,
            `${server.url}/v1/messages`,
            server.token(user('raw', rep)),
            conv('raw', rep),
            user('raw', rep),
            bodies,
          ] as const),
        );
        const held = await onServer(conv('raw', rep));
        if (held !== N) throw new Error(`raw: the server holds ${held} messages`);
        return out;
      },
      async (rep) => {
        await setup('lib', rep);
        const out = await timed(conv('lib', rep), () =>
          page.evaluate(([t, u, token, c, n]) => window.bench.libBulkSend(t, u, token, c, n, false), [`lg${rep}`, user('lib', rep), server.token(user('lib', rep)), conv('lib', rep), N] as const),
        );
        const held = await onServer(conv('lib', rep));
        if (out.failed > 0 || held !== N) throw new Error(`lib: ${out.failed} failed, the server holds ${held}`);
        return out;
      },
    );
    // Information: one sendMessages call with all of them (not every version has it).
    let batchLine = 'n/a';
    try {
      await setup('libb', 'r1');
      const b = await timed(conv('libb', 'r1'), () =>
        page.evaluate(([t, u, token, c, n]) => window.bench.libBulkSend(t, u, token, c, n, true), ['lgb', user('libb', 'r1'), server.token(user('libb', 'r1')), conv('libb', 'r1'), N] as const),
      );
      batchLine = `${b.serverMs.toFixed(0)} ms (resolved ${b.resolvedMs.toFixed(0)} ms)`;
    } catch (err) {
      batchLine = `not measured: ${(err as Error).message.split('\n')[0]?.slice(0, 60)}`;
    }
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.serverMs),
        r.lib.map((x) => x.serverMs),
      ),
      bar: 2,
      checks: [
        { label: 'info: every sendMessage call resolved (durable)', value: `${median(r.lib.map((x) => x.resolvedMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: syncStatus$ shows none pending', value: `${ms(r.lib).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: one sendMessages([10,000]) → all on server', value: batchLine, bar: '—', pass: true },
      ],
    };
  },
};

/** Messages in the long conversation of workload h. */
const LONG = 100_000;
const SHORT = 100;

export const openHistory: Workload = {
  key: 'history',
  name: 'h. open 100,000-msg vs 100-msg conversation',
  async run(page, server) {
    const { core } = server.sync;
    const seed = async (convId: string, reader: string, n: number): Promise<string> => {
      await core.admin.createGroup({ id: convId, name: convId, groupType: 'work', members: ['alice', reader] });
      const max = core.config.limits.maxMessageBatch;
      let last = '';
      for (let i = 0; i < n; i += max) {
        const messages = Array.from({ length: Math.min(max, n - i) }, (_, k) => ({
          id: `${convId}_${String(i + k).padStart(8, '0')}`,
          convId,
          text: `history message number ${i + k}`,
          needReadReceipt: (i + k) % 2 === 0,
          createdAt: Date.now(),
        }));
        await core.sendMessages('alice', { type: 'send-messages', messages });
        last = messages[messages.length - 1]!.id;
      }
      return last;
    };
    const bigNewest = await seed('g-hist-big', 'hist-big', LONG);
    const smallNewest = await seed('g-hist-small', 'hist-small', SHORT);
    const r = await pairs(
      REPS,
      (rep) => page.evaluate(([t, token, newest]) => window.bench.libOpenConversation(t, 'hist-small', token, 'g-hist-small', newest), [`hs${rep}`, server.token('hist-small'), smallNewest] as const),
      (rep) => page.evaluate(([t, token, newest]) => window.bench.libOpenConversation(t, 'hist-big', token, 'g-hist-big', newest), [`hb${rep}`, server.token('hist-big'), bigNewest] as const),
    );
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 1.5,
      checks: [{ label: 'info: messages shown at that moment (100k side)', value: String(median(r.lib.map((x) => x.shown))), bar: '—', pass: true }],
    };
  },
};
