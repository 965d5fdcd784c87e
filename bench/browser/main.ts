/** The bench page: exposes every workload on `window.bench` for the runner (playwright page.evaluate). */
import * as raw from './rawWorkloads';
import * as lib from './libWorkloads';
import * as libSync from './libSyncWorkloads';
import * as socketBurst from './socketBurst';
import * as peers from './peers/lazyPeers';
import * as latency from './latency';

const bench = { ...raw, ...lib, ...libSync, ...socketBurst, ...peers, ...latency };
export type BenchApi = typeof bench;
(window as unknown as { bench: BenchApi }).bench = bench;
document.title = 'bench ready';
