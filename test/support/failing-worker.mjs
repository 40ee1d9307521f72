// A worker that sends a few made-up events and then fails: what analyzeInput must survive (it reads the file
// again on one thread, the ordered sinks restarted, so the made-up events leave no trace). Streaming (a gzip): it
// fails at the second chunk posted; reading a plain file itself: right after the made-up batch.
import { parentPort, workerData } from 'node:worker_threads';
import { newBatch } from '../../dist/parse/event-batch.js';

function madeUp() {
  const b = newBatch(8);
  for (let i = 0; i < 8; i++) {
    b.kind[i] = 0; // request
    b.ts[i] = Date.UTC(2030, 0, 1) + i;
    b.line[i] = i + 1;
    b.a[i] = 3; // Getattr
    b.b[i] = 999_999;
    b.c[i] = 10_000 + 2 * i;
    b.d[i] = 4242;
  }
  b.n = 8;
  return b;
}

if (workerData && !workerData.stream) {
  parentPort.postMessage({ batch: madeUp() });
  setTimeout(() => {
    throw new Error('injected worker failure');
  }, 20);
} else {
  let chunks = 0;
  parentPort.on('message', (m) => {
    if (!m.chunk) return;
    chunks++;
    if (chunks === 1) {
      parentPort.postMessage({ batch: madeUp() });
      parentPort.postMessage({ ack: m.chunk }, [m.chunk]);
      return;
    }
    throw new Error('injected worker failure');
  });
}
