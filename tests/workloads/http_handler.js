// usage: node http_handler.js
//
// An HTTP server whose request handler spends its CPU in a function of its own: handleRequest builds and
// serialises a 200-item report for each request. Listens on 127.0.0.1 on a free port, prints the port on
// stdout, serves until SIGINT or SIGTERM, then prints {"pid", "file", "line": handleRequest's first line,
// "served"} on stdout and exits.
'use strict';
const http = require('http');

let served = 0;

function handleRequest(req, res) {
  const items = [];
  for (let i = 0; i < 200; i++)
    items.push({ id: i, name: 'item-' + i, score: Math.sqrt(i * served + 1), tags: ['a', 'b', String(i % 7)] });
  const body = JSON.stringify({ served: ++served, items });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer(handleRequest);
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
const stop = () => {
  const src = require('fs').readFileSync(__filename, 'utf8').split('\n');
  const line = src.findIndex((l) => l.startsWith('function handleRequest(')) + 1;
  console.log(JSON.stringify({ pid: process.pid, file: __filename, line, served }));
  server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
