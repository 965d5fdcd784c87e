// The /healthz probe of bench/load/busyClients.bench.ts, in its own thread so
// the load generator's event loop cannot delay it: every `intervalMs` it opens
// a fresh TCP connection (no keep-alive) and times GET /healthz until the last
// byte. Probes start on schedule even while earlier ones are still waiting.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, intervalMs, durationMs, timeoutMs } = workerData;
const target = new URL('/healthz', url);
const latencies = [];
/** Per probe: ms until the TCP connection was established, ms until the response's first byte, ms until its end. */
const phases = [];
let timeouts = 0;
let errors = 0;
const inFlight = new Set();

function probe() {
  const t0 = performance.now();
  let timedOut = false;
  const done = new Promise((resolve) => {
    let connected = NaN;
    const req = http.get({ host: target.hostname, port: target.port, path: target.pathname, agent: false, timeout: timeoutMs }, (res) => {
      const firstByte = performance.now() - t0;
      res.resume();
      res.on('end', () => {
        const total = performance.now() - t0;
        if (res.statusCode === 200) {
          latencies.push(total);
          phases.push([connected, firstByte, total]);
        } else errors++;
        resolve();
      });
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = performance.now() - t0)));
    req.on('timeout', () => {
      timedOut = true;
      timeouts++;
      req.destroy();
      resolve();
    });
    req.on('error', () => {
      if (!timedOut) errors++;
      resolve();
    });
  });
  inFlight.add(done);
  void done.then(() => inFlight.delete(done));
}

const timer = setInterval(probe, intervalMs);
setTimeout(async () => {
  clearInterval(timer);
  await Promise.all(inFlight);
  parentPort.postMessage({ latencies, phases, timeouts, errors });
}, durationMs);
