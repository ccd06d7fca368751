#!/usr/bin/env node
// gen_merkle.js - reference vectors for services/common/merkle.c, produced by the
// independent implementation @openzeppelin/merkle-tree (StandardMerkleTree.of,
// default options, i.e. sorted leaves).
//
//   NODE_PATH=.tools/node_modules node tests/vectors/gen_merkle.js [OUT]
//
// OUT defaults to tests/vectors/merkle_oz.json; "-" writes to stdout.
// tests/run.sh regenerates every vector file into a scratch directory and
// fails on any difference; it learns the file name from this line:
// output: merkle_oz.json
//
// The output is deterministic (values come from a keccak counter, so
// re-running gives the same bytes):
//   {"generator", "trees":[{"name", "types", "root", "leaves":[
//       {"value":[...], "hash":"0x..", "proof":["0x..", ...]}, ...], "dump"}]}
// Leaves are listed in input order (the order given to StandardMerkleTree.of).
// "dump" is tree.dump(), OZ's "standard-v1" serialisation, for the trees of
// at most DUMP_LEAVES_MAX leaves (merkle_tree_dump() must write the same).
// Addresses are lowercase 0x-hex, uint256 values decimal strings, bytes32 0x-hex.
'use strict';

const fs = require('fs');
const path = require('path');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { keccak256, toUtf8Bytes } = require('ethers');

const SIZES = [1, 2, 3, 7, 1000];
const DUMP_LEAVES_MAX = 7;
const MAX = (1n << 256n) - 1n;
const OUT = process.argv[2] || path.join(__dirname, 'merkle_oz.json'); // '-': stdout

// Deterministic 32-byte pseudo-random words: keccak256("merkle-vectors/<tag>/<i>").
function word(tag, i) {
  return keccak256(toUtf8Bytes(`merkle-vectors/${tag}/${i}`));
}

function settlementValues(n) {
  const values = [];
  for (let i = 0; i < n; i++) {
    const w = word(`settlement-${n}`, i);
    let account = `0x${w.slice(2, 42)}`;
    let amount;
    // Mix edge cases: amounts at 0, near 2^256-1 and of every size in between.
    switch (i % 7) {
      case 0: amount = BigInt(i); break;
      case 1: amount = MAX - BigInt(i); break;
      case 2: amount = BigInt(`0x${w.slice(42)}`); break;
      case 3: amount = BigInt(w) >> BigInt((i * 13) % 256); break;
      case 4: amount = 10n ** 18n * BigInt(i + 1); break;
      case 5: amount = BigInt(w); break;
      default: amount = 1n << BigInt(i % 256); break;
    }
    if (i === 3) account = '0x0000000000000000000000000000000000000000';
    if (i === 4) account = '0xffffffffffffffffffffffffffffffffffffffff';
    values.push([account, amount.toString()]);
  }
  return values;
}

function recordingValues(n) {
  const values = [];
  for (let i = 0; i < n; i++) {
    const sha = word(`recording-${n}`, i);
    let rendition = BigInt(i % 3);
    let sequence = BigInt(Math.floor(i / 3));
    if (i === 5) { rendition = MAX; sequence = MAX - 1n; }
    if (i === 6) { rendition = 1n << 64n; sequence = (1n << 64n) - 1n; }
    values.push([rendition.toString(), sequence.toString(), sha]);
  }
  return values;
}

function makeTree(name, types, values) {
  const keys = new Set(values.map((v) => JSON.stringify(v)));
  if (keys.size !== values.length) throw new Error(`${name}: duplicate values`);
  const tree = StandardMerkleTree.of(values, types);
  const leaves = values.map((value, i) => ({
    value,
    hash: tree.leafHash(value),
    proof: tree.getProof(i),
  }));
  const out = { name, types, root: tree.root, leaves };
  if (values.length <= DUMP_LEAVES_MAX) out.dump = tree.dump();
  return out;
}

function main() {
  const trees = [];
  for (const n of SIZES) {
    trees.push(makeTree(`settlement-${n}`, ['address', 'uint256'], settlementValues(n)));
  }
  for (const n of SIZES) {
    trees.push(makeTree(`recording-${n}`, ['uint256', 'uint256', 'bytes32'], recordingValues(n)));
  }
  const pkg = require('@openzeppelin/merkle-tree/package.json');
  const doc = { generator: `@openzeppelin/merkle-tree ${pkg.version} StandardMerkleTree.of`, trees };
  const text = `${JSON.stringify(doc, null, 1)}\n`;
  if (OUT === '-') {
    process.stdout.write(text);
  } else {
    fs.writeFileSync(OUT, text);
  }
  process.stderr.write(`wrote ${OUT} (${trees.length} trees)\n`);
}

main();
