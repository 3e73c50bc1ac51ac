// usage: node --expose-gc rt_v8gc.js TRUTH_JSON READY_FILE
//
// V8 garbage-collector reference. Installs a SIGUSR2 handler, writes READY_FILE (its pid) and waits without
// allocating (one blocked epoll_wait). On SIGUSR2 it starts a PerformanceObserver for 'gc' entries, then
// builds a retained heap (so that full collections take ~ms), churns short-lived objects (allocation-driven
// scavenges) and calls global.gc() FULL_GCS times in between (mark-compacts). Node creates the 'gc' entries
// from V8's GC prologue/epilogue callbacks and delivers them asynchronously, so the workload then waits until
// the observer's count has not changed for 3 checks 50 ms apart before it disconnects the observer and writes
// TRUTH_JSON:
//   {"pid", "node", "count", "total_ns", "max_ns": over the collections proper (scavenge, mark-compact,
//    minor mark-compact), "by_kind": {"scavenge"|"mark-compact"|"minor-mark-compact"|"incremental"|"weakcb":
//    {"count", "total_ns", "max_ns"}}, "full_gcs": global.gc() calls}
// 'incremental' (start of incremental marking) and 'weakcb' (weak callbacks processed after a collection)
// entries are not collections of their own and are not in count/total_ns. Then it parks (a keep-alive timer
// of ~24 days, no allocation) until killed.
'use strict';

const fs = require('fs');
const { PerformanceObserver, constants } = require('perf_hooks');

const FULL_GCS = 10;
const RETAINED = 400000; // small objects kept alive: each full GC marks them
const CHURN_ROUNDS = 40;
const CHURN_OBJECTS = 100000; // per round, dropped at once

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  2: 'minor-mark-compact', // v8::kGCTypeMinorMarkCompact: no NODE_PERFORMANCE_GC_ constant
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const COLLECTIONS = new Set(['scavenge', 'mark-compact', 'minor-mark-compact']);

if (typeof global.gc !== 'function') {
  console.error('rt_v8gc.js: run with --expose-gc');
  process.exit(2);
}

function main() {
  const [truthPath, readyPath] = process.argv.slice(2);
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const byKind = {};
  let seen = 0;
  let started = false;

  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[e.detail ? e.detail.kind : e.kind] || 'kind-' + (e.detail ? e.detail.kind : e.kind);
      const k = byKind[kind] || (byKind[kind] = { count: 0, total_ns: 0, max_ns: 0 });
      const ns = Math.round(e.duration * 1e6);
      k.count++;
      k.total_ns += ns;
      k.max_ns = Math.max(k.max_ns, ns);
      seen++;
    }
  });

  function work() {
    const retained = [];
    for (let i = 0; i < RETAINED; i++) retained.push({ i, s: 'r' + i, next: null });
    let sink = 0;
    let gcs = 0;
    for (let r = 0; r < CHURN_ROUNDS; r++) {
      let garbage = [];
      for (let i = 0; i < CHURN_OBJECTS; i++) garbage.push({ i, a: [i, i + 1], s: 'g' + i });
      sink += garbage.length;
      garbage = null;
      if (r % (CHURN_ROUNDS / FULL_GCS) === CHURN_ROUNDS / FULL_GCS - 1) {
        global.gc();
        gcs++;
      }
    }
    return { sink, gcs, retained: retained.length };
  }

  function finish(info) {
    obs.disconnect();
    let count = 0;
    let total = 0;
    let max = 0;
    for (const [kind, k] of Object.entries(byKind)) {
      if (!COLLECTIONS.has(kind)) continue;
      count += k.count;
      total += k.total_ns;
      max = Math.max(max, k.max_ns);
    }
    const truth = {
      pid: process.pid,
      node: process.version,
      count,
      total_ns: total,
      max_ns: max,
      by_kind: byKind,
      full_gcs: info.gcs,
      retained: info.retained,
    };
    fs.writeFileSync(truthPath + '.tmp', JSON.stringify(truth));
    fs.renameSync(truthPath + '.tmp', truthPath);
    void keepAlive; // parked: the keep-alive timer holds the loop open until the process is killed
  }

  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    obs.observe({ entryTypes: ['gc'] });
    const info = work();
    // wait for the entries of the last collections: the count must stay the same over 3 checks
    let last = -1;
    let stable = 0;
    const check = setInterval(() => {
      if (seen === last) stable++;
      else stable = 0;
      last = seen;
      if (stable >= 3) {
        clearInterval(check);
        finish(info);
      }
    }, 50);
  });
  fs.writeFileSync(readyPath + '.tmp', String(process.pid));
  fs.renameSync(readyPath + '.tmp', readyPath);
}

main();
