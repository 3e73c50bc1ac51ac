// Makes exactly N getppid() syscalls (N = argv[2]): every read of process.ppid calls uv_os_getppid() -> getppid().
'use strict';

const n = Number(process.argv[2]);
let sum = 0;
for (let i = 0; i < n; i++) {
  sum += process.ppid;
}
// Keep `sum` alive so the loop cannot be optimised away; exit code 0 either way.
if (sum < 0) process.exitCode = 1;
