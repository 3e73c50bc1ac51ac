// usage: node exit_threads.js
// worker_threads that end while more threads are runnable than there are CPUs, for comparing a profiler's
// per-thread figures with the kernel's accounting at each thread's exit: 4 long workers (~0.4 s each: 5 ms of
// CPU, then a 2 ms Atomics.wait, 40 times) and, while they run, 16 short ones (2 ms of CPU each, then exit) in
// waves of 4. Prints the workers' tids, one JSON line, and exits 0 once every worker has exited.
'use strict';

const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const threadlib = require('./threadlib');

const LONG = 4;
const LONG_ROUNDS = 40;
const SHORT_WAVES = 4;
const SHORT_PER_WAVE = 4;

function workerMain() {
  parentPort.postMessage(threadlib.tid());
  if (workerData === 'long') {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (let r = 0; r < LONG_ROUNDS; r++) {
      threadlib.busyFor(5);
      Atomics.wait(cell, 0, 0, 2);
    }
  } else {
    threadlib.busyFor(2);
  }
}

function start(kind, tids) {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: kind });
    w.on('message', (tid) => tids.push(tid));
    w.on('error', reject);
    w.on('exit', resolve);
  });
}

async function main() {
  const tids = [];
  const longs = [];
  for (let i = 0; i < LONG; i++) longs.push(start('long', tids));
  for (let w = 0; w < SHORT_WAVES; w++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const wave = [];
    for (let i = 0; i < SHORT_PER_WAVE; i++) wave.push(start('short', tids));
    await Promise.all(wave);
  }
  await Promise.all(longs);
  console.log(JSON.stringify({ tids }));
}

if (isMainThread) main().catch((e) => { console.error(e); process.exit(1); }); else workerMain();
