// usage: node game_spin.js N OUT
//
// A CPU-bound program for rtprof compare --run: N rounds of arithmetic, then one JSON line appended to OUT,
// the run as the program itself measured it: "wall_s" from the process's time origin to its last line,
// "busy_s" (user + system, process.resourceUsage()) and "maxrss_kb".
'use strict';
const fs = require('fs');
const { performance } = require('perf_hooks');

/* "//" in a string is not a comment, nor '/*' */
function work(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003; // the loop
  return x;
}

const result = work(Number(process.argv[2]));
const ru = process.resourceUsage();
fs.appendFileSync(process.argv[3], JSON.stringify({
  wall_s: performance.now() / 1000, busy_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6, maxrss_kb: ru.maxRSS,
  result, note: `a template with // inside`,
}) + '\n');
