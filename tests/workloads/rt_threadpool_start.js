// N threadpool work items submitted in node's first milliseconds (crypto.pbkdf2 runs on libuv's pool), the
// process leaving as soon as the last completes. Writes its pid, its TracerPid and N to argv[2]. With argv[4]
// "park", it leaves when its stdin closes instead (a watched process stays while the test reads its figures).
const crypto = require('crypto');
const fs = require('fs');
const n = Number(process.argv[3] || 10);
let done = 0;
for (let i = 0; i < n; i++) {
  crypto.pbkdf2('secret', 'salt', 2000, 32, 'sha256', () => {
    if (++done < n) return;
    const tracer = /TracerPid:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
    fs.writeFileSync(process.argv[2], `${process.pid} ${tracer} ${done}\n`);
    if (process.argv[4] === 'park') {
      process.stdin.on('end', () => process.exit(0));
      process.stdin.resume();
    } else {
      process.exit(0);
    }
  });
}
