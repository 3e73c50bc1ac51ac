// Decodes a gzip'd pprof profile with pprof-format (npm), a decoder that is not rtprof's, and prints what it
// holds as JSON: {"sample_types": [[type, unit]], "period", "samples": [{"values", "labels": {key: str or num},
// "stack": [{"function", "file", "start_line", "line"}] outermost first}]}.
//
// usage: node pprof_decode.js PPROF_FORMAT_PACKAGE_DIR FILE
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [pkg, file] = process.argv.slice(2);
const { Profile } = require(path.join(pkg, 'dist', 'commonjs', 'index.js'));
const profile = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
const str = i => profile.stringTable.strings[Number(i)];
const functions = new Map(profile.function.map(f => [String(f.id), f]));
const locations = new Map(profile.location.map(l => [String(l.id), l]));
const out = {
  sample_types: profile.sampleType.map(t => [str(t.type), str(t.unit)]),
  period: Number(profile.period),
  samples: profile.sample.map(s => ({
    values: s.value.map(Number),
    labels: Object.fromEntries(s.label.map(l => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)])),
    stack: s.locationId.map(id => {
      const loc = locations.get(String(id));
      const line = loc.line[0];
      const f = functions.get(String(line.functionId));
      return { function: str(f.name), file: str(f.filename), start_line: Number(f.startLine), line: Number(line.line) };
    }).reverse(),
  })),
};
process.stdout.write(JSON.stringify(out));
