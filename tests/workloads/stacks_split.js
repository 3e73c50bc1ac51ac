// usage: node stacks_split.js OUT SECONDS
//
// Busy time in two functions in a known proportion, measured here around each call: spinA computes for 70%
// of a round, spinB for 30%, round after round, until SECONDS have been spent in them. Each computes a fixed
// number of iterations of plain arithmetic (calibrated at the start to the time it should take), so that
// its time is JavaScript's own, not a clock's called in the loop. Rounds last 5 to 15 ms at random (a fixed
// round would run in step with a sampler's period). Writes {"pid", "version", "file", "ms": {"spinA",
// "spinB"}, "lines": {"spinA", "spinB"}, "node_options": its NODE_OPTIONS ("" without)} to OUT.
'use strict';
const fs = require('fs');
const { performance } = require('perf_hooks');

const spent = { spinA: 0, spinB: 0 };
let sink = 0;

function spinA(n) {
  const start = performance.now();
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
  sink += x;
  spent.spinA += performance.now() - start;
}

function spinB(n) {
  const start = performance.now();
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
  sink += x;
  spent.spinB += performance.now() - start;
}

function lineOf(name) {
  const lines = fs.readFileSync(__filename, 'utf8').split('\n');
  return lines.findIndex((l) => l.startsWith('function ' + name + '(')) + 1;
}

// iterations a millisecond, of a loop like theirs (warmed up first, then timed)
function perMs() {
  let x = 0;
  for (let i = 0; i < 2e6; i++) x = (x * 31 + i) % 1000003;
  const n = 4e6;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
  sink += x;
  return n / Math.max(performance.now() - t0, 1e-3);
}

function main() {
  const out = process.argv[2];
  const seconds = Number(process.argv[3]);
  const rate = perMs();
  spent.spinA = spent.spinB = 0;
  while (spent.spinA + spent.spinB < seconds * 1000) {
    const round = 5 + Math.random() * 10;
    spinA(Math.round(round * 0.7 * rate));
    spinB(Math.round(round * 0.3 * rate));
  }
  fs.writeFileSync(out, JSON.stringify({
    pid: process.pid, version: process.version, file: __filename, ms: spent,
    lines: { spinA: lineOf('spinA'), spinB: lineOf('spinB') }, sink,
    node_options: process.env.NODE_OPTIONS || '',
  }));
}

main();
