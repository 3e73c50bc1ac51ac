// Worst case for syscall tracing in Node: each process.ppid access is one getppid().
const n = Number(process.argv[2] || 5000000);
let sink = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) sink += process.ppid;
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(dt.toFixed(6));
if (sink === 42) console.error(sink);
