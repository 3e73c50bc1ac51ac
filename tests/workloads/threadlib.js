// What the worker_threads workloads share (required as './threadlib'): a thread's kernel tid, and CPU burnt
// for a set time.
'use strict';

const fs = require('fs');

// The calling thread's tid: "/proc/thread-self" links to "PID/task/TID".
function tid() {
  return Number(fs.readlinkSync('/proc/thread-self').split('/')[2]);
}

// Busy on the CPU for ms milliseconds of wall time (process.hrtime).
function busyFor(ms) {
  const end = process.hrtime.bigint() + BigInt(ms) * 1000000n;
  let x = 0;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
  }
  return x;
}

module.exports = { tid, busyFor };
