// Benchmark target (not a test): a minimal HTTP server for bench_runtime.py's load generator.
// usage: node http_server.js [--fs FILE]
// Listens on 127.0.0.1 on a free port and prints the port on stdout. Each request is answered with a small
// JSON body; with --fs FILE, the handler first reads FILE with fs.readFile (4 libuv threadpool tasks a
// request: open, fstat, read, close), the path that exercises rtprof's threadpool probes.
'use strict';

const fs = require('fs');
const http = require('http');

const fsIndex = process.argv.indexOf('--fs');
const file = fsIndex > 0 ? process.argv[fsIndex + 1] : null;
let served = 0;

function reply(res, extra) {
  served++;
  const body = JSON.stringify({ ok: true, served, bytes: extra });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (!file) {
    reply(res, 0);
    return;
  }
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(500);
      res.end(String(err));
      return;
    }
    reply(res, data.length);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
process.on('SIGTERM', () => process.exit(0));
