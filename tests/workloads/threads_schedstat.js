// usage: node threads_schedstat.js TRUTH_JSON GO_FILE
// Waits until GO_FILE exists, then starts 4 worker_threads that each burn ~0.3 s of CPU in 10 ms chunks with
// 10 ms sleeps (Atomics.wait) in between, and park in Atomics.wait. Once every worker is parked -- two readings
// 20 ms apart agree -- the kernel's own figures for each (/proc/self/task/TID/schedstat and status) are written
// to TRUTH_JSON as {"pid": ..., "workers": [{"tid", "oncpu_ns", "runq_wait_ns", "timeslices", "vol_switches",
// "invol_switches"}]}; the process then stays as it is until killed, workers parked.
'use strict';

const { Worker, isMainThread, parentPort } = require('worker_threads');
const fs = require('fs');
const threadlib = require('./threadlib');

const WORKERS = 4;
const CHUNKS = 30;
const CHUNK_MS = 10;
const SLEEP_MS = 10;

function workerMain() {
  const tid = threadlib.tid();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  parentPort.postMessage({ tid });
  for (let c = 0; c < CHUNKS; c++) {
    threadlib.busyFor(CHUNK_MS);
    Atomics.wait(cell, 0, 0, SLEEP_MS);
  }
  Atomics.wait(cell, 0, 0); // park for good
}

function readTask(tid) {
  const schedstat = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
  const status = fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
  const field = (name) => Number(new RegExp('^' + name + ':\\s*(\\d+)', 'm').exec(status)[1]);
  return {
    tid,
    oncpu_ns: schedstat[0],
    runq_wait_ns: schedstat[1],
    timeslices: schedstat[2],
    vol_switches: field('voluntary_ctxt_switches'),
    invol_switches: field('nonvoluntary_ctxt_switches'),
  };
}

function start() {
  const out = process.argv[2];
  const tids = [];
  let previous = '';
  for (let i = 0; i < WORKERS; i++) {
    const w = new Worker(__filename);
    w.on('message', (m) => tids.push(m.tid));
    w.on('error', (e) => { console.error(e); process.exit(1); });
  }
  const timer = setInterval(() => {
    if (tids.length < WORKERS) return;
    const current = tids.map(readTask);
    const text = JSON.stringify(current);
    if (text === previous) { // nobody ran in 20 ms: all parked
      clearInterval(timer);
      fs.writeFileSync(out + '.tmp', JSON.stringify({ pid: process.pid, workers: current }));
      fs.renameSync(out + '.tmp', out);
    }
    previous = text;
  }, 20);
}

function main() {
  const go = setInterval(() => {
    if (fs.existsSync(process.argv[3])) {
      clearInterval(go);
      start();
    }
  }, 10);
}

if (isMainThread) main(); else workerMain();
