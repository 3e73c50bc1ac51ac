// usage: node rt_loop.js TRUTH_JSON READY_FILE
//
// Event-loop utilization reference. Installs a SIGUSR2 handler, writes READY_FILE (its pid) and then blocks in
// one epoll_wait: no timers wake it (a keep-alive interval of ~24 days holds the loop open), so a profiler
// attached now sees no loop iterations until the signal. On SIGUSR2 it takes performance.eventLoopUtilization()
// and then runs 15 busy callbacks, cycling 20, 50 and 200 ms of busy-waiting (process.hrtime), each one in its
// own loop iteration: every busy callback ends by arming a 100 ms timer for the next one, so the loop blocks
// ~100 ms in epoll_wait between them. The last timer's callback takes eventLoopUtilization(start) -- the window
// from the signal to the end of the last idle period -- writes TRUTH_JSON and exits at once, without another
// epoll_wait: a profiler counting a busy period only when the next epoll_wait begins sees exactly the window's
// iterations. TRUTH_JSON:
//   {"pid", "tid": the loop thread (= pid), "utilization", "elu_idle_ns", "elu_active_ns", "window_ns",
//    "busy_callbacks", "busy_ms": [...], "max_busy_ns": longest busy-wait as measured, "idle_timer_ms"}
'use strict';

const fs = require('fs');
const { performance } = require('perf_hooks');

const BUSY_MS = [20, 50, 200];
const CALLBACKS = 15;
const IDLE_MS = 100;

function hrtimeNs() {
  return process.hrtime.bigint();
}

function busyWait(ms) {
  const start = hrtimeNs();
  const end = start + BigInt(ms) * 1000000n;
  let x = 0;
  let now;
  do {
    for (let i = 0; i < 200; i++) x += Math.sqrt(i);
    now = hrtimeNs();
  } while (now < end);
  return Number(now - start);
}

function main() {
  const [truthPath, readyPath] = process.argv.slice(2);
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const busyNs = [];
  let eluStart;
  let t0;

  function finish() {
    const elu = performance.eventLoopUtilization(eluStart);
    const windowNs = Number(hrtimeNs() - t0);
    clearInterval(keepAlive);
    const truth = {
      pid: process.pid,
      tid: process.pid,
      node: process.version,
      utilization: elu.utilization,
      elu_idle_ns: Math.round(elu.idle * 1e6),
      elu_active_ns: Math.round(elu.active * 1e6),
      window_ns: windowNs,
      busy_callbacks: busyNs.length,
      busy_ms: busyNs.map((ns) => ns / 1e6),
      max_busy_ns: Math.max(...busyNs),
      idle_timer_ms: IDLE_MS,
    };
    fs.writeFileSync(truthPath + '.tmp', JSON.stringify(truth));
    fs.renameSync(truthPath + '.tmp', truthPath);
    process.exit(0); // at once: no epoll_wait after the measured window
  }

  function step(i) {
    busyNs.push(busyWait(BUSY_MS[i % BUSY_MS.length]));
    setTimeout(i + 1 < CALLBACKS ? () => step(i + 1) : finish, IDLE_MS);
  }

  process.on('SIGUSR2', () => {
    if (eluStart) return;
    eluStart = performance.eventLoopUtilization();
    t0 = hrtimeNs();
    setTimeout(() => step(0), IDLE_MS);
  });
  fs.writeFileSync(readyPath + '.tmp', String(process.pid));
  fs.renameSync(readyPath + '.tmp', readyPath);
}

main();
