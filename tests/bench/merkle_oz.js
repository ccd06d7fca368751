#!/usr/bin/env node
// merkle_oz.js - the reference side of the Merkle benchmark (tests/bench/bench_merkle.c
// spawns it once per repetition): @openzeppelin/merkle-tree StandardMerkleTree.of(values,
// ["address","uint256"]) and getProof(i) for every value, on the leaves bench_merkle wrote.
//
//   NODE_PATH=.tools/node_modules node --max-old-space-size=MB tests/bench/merkle_oz.js \
//       LEAVES_FILE OUT_JSON SPOT_INDICES
//
// LEAVES_FILE: one value a line, "0x<40 lowercase hex>,<decimal uint256>", in value order.
// SPOT_INDICES: comma-separated value indices whose proofs go into the output.
// OUT_JSON gets one object:
//   {"count", "root", "proofNodes" (sum of all proof lengths), "ofMs" (StandardMerkleTree.of),
//    "proofsMs" (getProof of every value, in value order), "maxRssBytes", "node", "oz",
//    "spot": [{"index", "proof": ["0x..", ...]}, ...]}
// Timed: only of() and the getProof loop (process.hrtime.bigint); reading and splitting the
// file comes before the clock starts. Each proof is dropped after its length is counted,
// except the spot ones. Progress goes to stderr; exit status 1 on any error.
'use strict';

const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const ozVersion = require('@openzeppelin/merkle-tree/package.json').version;

const LEAF_TYPES = ['address', 'uint256'];

function readValues(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const values = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const comma = lines[i].indexOf(',');
    if (comma !== 42) throw new Error(`${file}:${i + 1}: not "0x<40 hex>,<decimal>"`);
    values[i] = [lines[i].slice(0, comma), lines[i].slice(comma + 1)];
  }
  return values;
}

function main() {
  const [file, out, spotText] = process.argv.slice(2);
  if (!file || !out || spotText === undefined) {
    throw new Error('usage: merkle_oz.js LEAVES_FILE OUT_JSON SPOT_INDICES');
  }
  const values = readValues(file);
  const spotIndices = spotText === '' ? [] : spotText.split(',').map(Number);
  for (const i of spotIndices) {
    if (!Number.isInteger(i) || i < 0 || i >= values.length) throw new Error(`bad spot index ${i}`);
  }
  const wanted = new Set(spotIndices);
  const spot = [];
  process.stderr.write(`merkle_oz: ${values.length} values, StandardMerkleTree.of...\n`);

  const t0 = process.hrtime.bigint();
  const tree = StandardMerkleTree.of(values, LEAF_TYPES);
  const t1 = process.hrtime.bigint();
  process.stderr.write(`merkle_oz: of ${(Number(t1 - t0) / 1e6).toFixed(0)} ms; getProof...\n`);
  const tenth = Math.max(1, Math.floor(values.length / 10));
  let proofNodes = 0;
  for (let i = 0; i < values.length; i++) {
    const proof = tree.getProof(i);
    proofNodes += proof.length;
    if (wanted.has(i)) spot.push({ index: i, proof });
    if ((i + 1) % tenth === 0) process.stderr.write(`merkle_oz: ${i + 1} proofs\n`);
  }
  const t2 = process.hrtime.bigint();

  const result = {
    count: values.length,
    root: tree.root,
    proofNodes,
    ofMs: Number(t1 - t0) / 1e6,
    proofsMs: Number(t2 - t1) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    node: process.version,
    oz: ozVersion,
    spot,
  };
  fs.writeFileSync(out, JSON.stringify(result));
  process.stderr.write(`merkle_oz: proofs ${result.proofsMs.toFixed(0)} ms\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`merkle_oz: ${err.message}\n`);
  process.exit(1);
}
