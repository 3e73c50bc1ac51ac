// usage: node loop_block.js OUT [DELAY_MS]
//
// Callbacks that block node's event loop, each in a function of its own, between iterations that do not: a
// 10 ms interval ticks (about 1 ms of work each) for 1.6 s; at 300 ms a timer's callback computes for 250 ms
// in blockLong, at 700 ms and at 1100 ms another's for 120 ms in blockMid. Each callback's time is measured
// here, around the call. The work is plain arithmetic in a loop that checks the clock every 1000 rounds.
// Writes {"pid", "version", "file", "lines": {"blockLong", "blockMid"}, "calls": [{"fn", "ms"}...] in the
// order they ran} to OUT. DELAY_MS (default 0) puts it all off by that long after the start (for a profiler
// to attach).
'use strict';
const fs = require('fs');
const { performance } = require('perf_hooks');

const calls = [];
let sink = 0;

function compute(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end)
    for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003;
  sink += x;
}

// (each its own loop: the innermost JavaScript function of their samples is theirs)
function blockLong() {
  const end = performance.now() + 250;
  let x = 0;
  while (performance.now() < end)
    for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003;
  sink += x;
}

function blockMid() {
  const end = performance.now() + 120;
  let x = 0;
  while (performance.now() < end)
    for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003;
  sink += x;
}

function timed(fn) {
  return () => {
    const start = performance.now();
    fn();
    calls.push({ fn: fn.name, ms: performance.now() - start });
  };
}

const delay = Number(process.argv[3] || 0);
const started = performance.now() + delay;
const tick = setInterval(() => {
  compute(1);
  if (performance.now() - started > 1600) {
    clearInterval(tick);
    const src = fs.readFileSync(__filename, 'utf8').split('\n');
    const lines = {};
    for (const name of ['blockLong', 'blockMid'])
      lines[name] = src.findIndex((l) => l.startsWith('function ' + name + '(')) + 1;
    fs.writeFileSync(process.argv[2], JSON.stringify({
      pid: process.pid, version: process.versions.node, file: __filename, lines, calls, sink,
    }));
  }
}, 10);
setTimeout(timed(blockLong), delay + 300);
setTimeout(timed(blockMid), delay + 700);
setTimeout(timed(blockMid), delay + 1100);
