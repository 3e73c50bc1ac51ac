// usage: node rt_threadpool.js TRUTH_JSON READY_FILE [N_PBKDF2 M_READFILE]
//
// libuv threadpool reference. Writes a small file (synchronously: no pool task), installs a SIGUSR2 handler,
// writes READY_FILE (its pid) and waits in epoll_wait. On SIGUSR2 it starts N crypto.pbkdf2 (async: one
// uv_queue_work task each, kind "work") and M fs.readFile of the small file (callback API; kind "fs") all at
// once, awaits them all, writes TRUTH_JSON {"pid", "node", "pbkdf2": N, "readfile": M, "file_size",
// "wall_ns"} with writeFileSync, and parks (a keep-alive timer of ~24 days) until killed. Nothing else submits
// pool work in that window. The window does have synchronous fs calls (statSync before the jobs, rmSync,
// writeFileSync and renameSync after): libuv runs those with uv__fs_work too, but directly on the loop thread,
// without uv__work_submit -- they are not pool tasks and must not be counted as such.
//
// One fs.readFile of a small regular file is 4 pool tasks on node v20 (libuv 1.46, io_uring not used for fs):
// open, fstat (statx), one read that returns the whole file (the size is known from the fstat, so no read of
// EOF follows), close -- each a uv_fs_* request with a callback, i.e. one uv__work_submit each.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N = Number(process.argv[4] || 8);
const M = Number(process.argv[5] || 10);
const PBKDF2_ITERATIONS = 20000; // ~10-20 ms each

function readFile(p) {
  return new Promise((resolve, reject) => fs.readFile(p, (err, data) => (err ? reject(err) : resolve(data))));
}

function pbkdf2(i) {
  return new Promise((resolve, reject) =>
    crypto.pbkdf2('secret' + i, 'salt', PBKDF2_ITERATIONS, 32, 'sha256',
      (err, key) => (err ? reject(err) : resolve(key))));
}

function main() {
  const [truthPath, readyPath] = process.argv.slice(2);
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-threadpool-'));
  const small = path.join(dir, 'small.txt');
  fs.writeFileSync(small, 'a small file, read in one read()\n');
  let started = false;

  process.on('SIGUSR2', async () => {
    if (started) return;
    started = true;
    const t0 = process.hrtime.bigint();
    fs.statSync(small); // synchronous: uv__fs_work on this thread, not a pool task
    const jobs = [];
    for (let i = 0; i < N; i++) jobs.push(pbkdf2(i));
    for (let i = 0; i < M; i++) jobs.push(readFile(small));
    const results = await Promise.all(jobs);
    const wallNs = Number(process.hrtime.bigint() - t0);
    const size = results[results.length - 1].length;
    fs.rmSync(dir, { recursive: true, force: true });
    const truth = { pid: process.pid, node: process.version, pbkdf2: N, readfile: M, file_size: size, wall_ns: wallNs };
    fs.writeFileSync(truthPath + '.tmp', JSON.stringify(truth));
    fs.renameSync(truthPath + '.tmp', truthPath);
    void keepAlive; // parked until killed
  });
  fs.writeFileSync(readyPath + '.tmp', String(process.pid));
  fs.renameSync(readyPath + '.tmp', readyPath);
}

main();
