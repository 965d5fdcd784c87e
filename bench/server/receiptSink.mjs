// The senders' event streams for the ingest benchmark, in a process of their
// own (so their JSON parsing does not share the server's event loop): one
// WebSocket per sender. Reads a JSON line on stdin: { urls, messages, readers }.
// Prints "ready" once every stream said hello, then, once every one of the
// `messages` messages shows `readers` reads, one JSON line:
// { doneAt (epoch ms), frames, bytes, receipts } and exits.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const rl = createInterface({ input: process.stdin });
const { urls, messages, readers } = JSON.parse(await new Promise((r) => rl.once('line', r)));
rl.close();
const counts = new Map();
let done = 0;
let frames = 0;
let bytes = 0;
let receipts = 0;
let hellos = 0;
for (const url of urls) {
  const ws = new WebSocket(url);
  ws.on('error', (e) => {
    console.error(`sink: ${e.message}`);
    process.exit(2);
  });
  ws.on('message', (data) => {
    frames++;
    bytes += data.length;
    const event = JSON.parse(data.toString());
    if (event.type === 'hello') {
      if (++hellos === urls.length) console.log('ready');
      return;
    }
    if (event.type !== 'receipts') return;
    for (const r of event.receipts) {
      receipts++;
      const before = counts.get(r.messageId) ?? 0;
      counts.set(r.messageId, Math.max(before, r.readCount));
      if (before < readers && r.readCount >= readers && ++done === messages) {
        console.log(JSON.stringify({ doneAt: Date.now(), frames, bytes, receipts }));
        process.exit(0);
      }
    }
  });
}
