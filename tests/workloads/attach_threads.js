// Target for `rtprof attach`. argv: READY GO OUT K.
// Creates READY, then polls every 10 ms until GO exists (no getppid() before that), then starts 3 new
// worker_threads that each make exactly K getppid() syscalls (reads of process.ppid), writes
// {"pid", "tids": [...]} as JSON to OUT and exits 0.
'use strict';

const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const threadlib = require('./threadlib');

const THREADS = 3;

function workerMain() {
  const tid = threadlib.tid();
  let sum = 0;
  for (let i = 0; i < workerData.k; i++) sum += process.ppid;
  parentPort.postMessage({ tid, sum });
}

function startWorkers(out, k) {
  const tids = [];
  let running = THREADS;
  for (let i = 0; i < THREADS; i++) {
    const w = new Worker(__filename, { workerData: { k } });
    w.on('message', (m) => tids.push(m.tid));
    w.on('error', (e) => { console.error(e); process.exitCode = 1; });
    w.on('exit', () => {
      if (--running === 0) fs.writeFileSync(out, JSON.stringify({ pid: process.pid, tids }));
    });
  }
}

function main() {
  const [ready, go, out, k] = process.argv.slice(2);
  fs.writeFileSync(ready, '');
  const poll = setInterval(() => {
    if (!fs.existsSync(go)) return;
    clearInterval(poll);
    startWorkers(out, Number(k));
  }, 10);
}

if (isMainThread) main(); else workerMain();
