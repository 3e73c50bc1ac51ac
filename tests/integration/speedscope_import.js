// Imports a file with speedscope's own importer, as its web page does when a file is dropped on it, and prints
// what it made of it as JSON: {"importer": [console.log lines], "warnings": [console.warn/error lines],
// "profiles": [{"name", "weight", "unit"}]}.
//
// usage: node speedscope_import.js SPEEDSCOPE_PACKAGE_DIR FILE
//
// speedscope ships only its browser bundle (an IIFE that ends by rendering into document.body). The bundle's
// import module (importProfilesFromArrayBuffer, ...) is exported here by replacing that final render call, and
// the few browser globals read while the bundle initialises are stubbed. Nothing of the import code is changed.
// Exit status 3 when the bundle does not have the expected shape (another speedscope version).
'use strict';

const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write('speedscope_import: ' + msg + '\n');
  process.exit(3);
}

function loadSpeedscope(pkgDir) {
  const dir = path.join(pkgDir, 'dist', 'release');
  const bundle = fs.readdirSync(dir).find(f => /^speedscope-[^.]*\.js$/.test(f));
  if (!bundle) fail('no speedscope-*.js bundle in ' + dir);
  let code = fs.readFileSync(path.join(dir, bundle), 'utf8');
  // var NS={};EXPORT(NS,{importFromFileSystemDirectoryEntry:()=>..., importProfileGroupFromText:..., ...})
  const ns = /var ([\w$]+)=\{\};[\w$]+\(\1,\{[^}]*importProfilesFromArrayBuffer/.exec(code);
  if (!ns) fail('the import module was not found in ' + bundle);
  const esc = s => s.replace(/\$/g, '\\$');
  // its lazy initialiser: Promise.resolve().then(()=>(INIT(),NS))
  const init = new RegExp('\\(\\)=>\\(([\\w$]+)\\(\\),' + esc(ns[1]) + '\\)\\)').exec(code);
  if (!init) fail('the import module\'s initialiser was not found in ' + bundle);
  const render = code.lastIndexOf('console.log(`speedscope v');
  const end = render < 0 ? -1 : code.indexOf('})();', render);
  if (end < 0) fail('the final render call was not found in ' + bundle);
  code = code.slice(0, render) + `globalThis.__speedscopeImport=(${init[1]}(),${ns[1]});` + code.slice(end);
  const noop = () => {};
  const win = {
    location: { hash: '', protocol: 'file:', search: '', href: 'file:///' },
    localStorage: {}, devicePixelRatio: 1, addEventListener: noop, removeEventListener: noop,
  };
  const doc = {
    addEventListener: noop, removeEventListener: noop, head: { appendChild: noop }, body: {},
    querySelector: () => null, createElement: () => ({ style: {}, getContext: () => null }),
  };
  new Function('window', 'document', 'matchMedia', 'requestAnimationFrame', code)(
    win, doc, () => ({ matches: false, addEventListener: noop }), () => 0);
  if (!globalThis.__speedscopeImport || !globalThis.__speedscopeImport.importProfilesFromArrayBuffer)
    fail('the import module did not initialise');
  return globalThis.__speedscopeImport;
}

async function main() {
  if (process.argv.length !== 4) fail('usage: node speedscope_import.js SPEEDSCOPE_PACKAGE_DIR FILE');
  const importer = [], warnings = [];
  const speedscope = loadSpeedscope(process.argv[2]);
  console.log = (...a) => importer.push(a.join(' '));
  console.warn = (...a) => warnings.push(a.join(' '));
  console.error = (...a) => warnings.push(a.join(' '));
  const buf = fs.readFileSync(process.argv[3]);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  // the file's name matters to speedscope only for some formats; this one is recognised by its content
  const group = await speedscope.importProfilesFromArrayBuffer(path.basename(process.argv[3]), ab);
  const profiles = group ? group.profiles.map(p => ({
    name: p.getName(), weight: p.getTotalWeight(), unit: p.getWeightUnit(),
  })) : null;
  process.stdout.write(JSON.stringify({ importer, warnings, profiles }) + '\n');
}

main().catch(e => fail('import failed: ' + (e && e.stack || e)));
