// usage: node js_syscalls.js OUT N [DELAY_MS]
//
// Syscalls made from a JavaScript function: after DELAY_MS (default 1000; for a profiler to attach),
// statMany stats N paths that do not exist (fs.statSync: one stat call each, made on this thread), then
// writes {"pid", "file", "line": statMany's first line, "calls": N} to OUT and exits 300 ms later (a
// profiler names a stack's functions from the process's memory while it lives).
'use strict';
const fs = require('fs');

function statMany(n) {
  let missing = 0;
  for (let i = 0; i < n; i++)
    if (!fs.statSync('/nonexistent-rtprof-' + i, { throwIfNoEntry: false })) missing++;
  return missing;
}

const [out, n, delay] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1000)];
setTimeout(() => {
  const missing = statMany(n);
  const src = fs.readFileSync(__filename, 'utf8').split('\n');
  const line = src.findIndex((l) => l.startsWith('function statMany(')) + 1;
  fs.writeFileSync(out, JSON.stringify({ pid: process.pid, file: __filename, line, calls: missing }));
  setTimeout(() => {}, 300);
}, delay);
