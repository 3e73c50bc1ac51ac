// usage: node json_parse.js SECONDS
//
// CPU in V8's own C++: parseLoop parses a 1.4 MB JSON text again and again (JSON.parse runs in V8's C++
// parser, called from the JavaScript function) until SECONDS have passed, then exits.
'use strict';
const big = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ id: i, name: 'n' + i, v: [i, i * 2, 'x'] })));
let sink = 0;

function parseLoop() {
  for (let i = 0; i < 5; i++) sink += JSON.parse(big).length;
}

const end = Date.now() + Number(process.argv[2]) * 1000;
while (Date.now() < end) parseLoop();
if (sink < 0) console.log(sink);
