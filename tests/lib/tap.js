// tap.js - the output every node test prints, as tests/run.sh reads it:
// "ok - NAME" or "not ok - NAME" per check (with "#   " detail lines under a
// failure) and one closing line "N passed, N failed".
//
//   const tap = require('../lib/tap.js');
//   tap.ok(cond, 'name', detail);   // returns cond
//   tap.failed();                   // failures so far
//   tap.finish(exitCode?);          // prints the closing line and exits:
//                                   // 0 only when something passed and nothing failed
'use strict';

let passed = 0;
let failed = 0;

function ok(cond, name, detail) {
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    if (detail !== undefined) console.log(String(detail).split('\n').map((l) => `#   ${l}`).join('\n'));
  }
  return cond;
}

function finish(code) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code !== undefined ? code : failed === 0 && passed > 0 ? 0 : 1);
}

module.exports = { ok, finish, failed: () => failed };
