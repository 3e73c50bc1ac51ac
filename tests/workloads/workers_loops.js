// usage: node workers_loops.js OUT
//
// Two worker_threads, each with an event loop of its own busy in a known proportion: every 10 ms a tick
// computes (allocating, so that the worker's isolate collects) for 6 ms in one worker, 2 ms in the other,
// 150 ticks. Each worker measures itself: its loop utilisation from its first tick to its last
// (performance.eventLoopUtilization), and its isolate's collections (scavenges, mark-compacts) seen by a
// PerformanceObserver made first thing in the worker. It reads its own thread id (/proc/thread-self) and
// fails an access() of "/rtprof-marker-start-TID" right after its observer begins, and of
// "/rtprof-marker-end-TID" right after the observer's last records: the trace shows the observer's window
// (the collections of the worker's start-up come before it; an idle isolate may collect after). The main
// thread does the same.
// Writes {"pid", "main": {"tid", "gcs"}, "workers": [{"tid", "busy_ms", "elu", "gcs"}]} to OUT, then
// SIGKILLs itself: no collection of the isolates' teardown.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { performance, PerformanceObserver } = require('perf_hooks');
const fs = require('fs');

const COLLECTIONS = new Set([1, 2, 4]); // minor, minor mark-compact, major (not incremental marking, weakcb)
const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
// the markers' paths made before the observer begins and before it ends: no allocation (no collection)
// between the observer's edges and the markers
const START = '/rtprof-marker-start-' + tid, END = '/rtprof-marker-end-' + tid;
const mark = (path) => {
  try {
    fs.accessSync(path);
  } catch (e) {
    // the marker: it does not exist
  }
};
let gcs = 0;
const count = (entries) => {
  for (const e of entries) if (COLLECTIONS.has(e.detail ? e.detail.kind : e.kind)) gcs++;
};
const obs = new PerformanceObserver((list) => count(list.getEntries()));
obs.observe({ entryTypes: ['gc'] });
mark(START);

if (isMainThread) {
  const workers = [];
  for (const busyMs of [6, 2]) {
    const w = new Worker(__filename, { workerData: busyMs });
    w.on('message', (m) => {
      workers.push(m);
      if (workers.length < 2)
        return;
      count(obs.takeRecords());
      mark(END);
      fs.writeFileSync(process.argv[2], JSON.stringify({ pid: process.pid, main: { tid, gcs }, workers }));
      process.kill(process.pid, 'SIGKILL');
    });
  }
} else {
  let keep = [];
  let first = null;
  let ticks = 0;
  const tick = setInterval(() => {
    if (!first)
      first = performance.eventLoopUtilization();
    const end = performance.now() + workerData;
    while (performance.now() < end)
      keep.push({ a: [1, 2, 3] });
    if (keep.length > 100000)
      keep = [];
    if (++ticks < 150)
      return;
    clearInterval(tick);
    // node queues a collection's entry from the loop after it: a turn or two for the last ones to arrive
    setTimeout(() => {
      const elu = performance.eventLoopUtilization(performance.eventLoopUtilization(), first);
      count(obs.takeRecords());
      mark(END);
      parentPort.postMessage({ tid, busy_ms: workerData, elu: elu.utilization, gcs });
    }, 20);
  }, 10);
}
