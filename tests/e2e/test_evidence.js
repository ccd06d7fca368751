#!/usr/bin/env node
// test_evidence.js - a recording's evidence package verified from outside
// (issue "Done when": every recording that ends is anchored with an evidence
// package that verifies from outside), against real PostgreSQL, anvil,
// ffmpeg, the gateway and the settlement service binaries:
//   * a fresh database migrated by `rightsctl migrate`, the vault deployed by
//     `rightsctl deploy` (operator = anvil 0, OPERATOR_KEY_FILE), a creator
//     and stream seeded by services/stack/demo.js;
//   * the gateway (its own MEDIA_DIR) and the settlement service (the
//     operator key, VAULT_ADDRESS, CONFIRMATIONS 1) on free ports;
//   * `rightsctl publish --input testsrc --ladder 480p,360p --duration 5`
//     pushes a stream; the recording ends; the settlement service anchors it
//     by itself (its anchor job and transaction manager; this test only mines
//     blocks) and GET /v1/recordings/{id} says anchored;
//   * GET /v1/recordings/{id}/evidence: StandardMerkleTree.load(evidence.tree)
//     of @openzeppelin/merkle-tree accepts the tree as is and its root is
//     the package's, as is StandardMerkleTree.of(leaves, leaf_types).root;
//     every leaf's sha256 is the sha256 of its file under MEDIA_DIR; ethers:
//     vault.recordingRoot(streamKey) is the root, the anchor transaction's
//     receipt is in the package's block with the vault's RecordingAnchored
//     log, and the block has the package's timestamp;
//   * `rightsctl verify-recording --stream ID --api URL --media MEDIA_DIR`
//     exits 0 ("verified"), and so does --evidence FILE with a saved copy;
//   * one byte of one segment file altered: verify-recording exits 1 and its
//     report names that segment (rendition, sequence, file) and no other;
//     a leaf altered in a saved package, or --vault naming another vault,
//     fails too.
//
//   DATABASE_URL=... ETH_RPC_URL=... [CHAIN_ID=31337] [TEST_TMPDIR=...] [BUILD_DIR=build] \
//   NODE_PATH=.tools/node_modules node tests/e2e/test_evidence.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ethers = require('ethers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const e2e = require('../lib/e2e.js');
const tap = require('../lib/tap.js');

const { ROOT, BIN, CHAIN_ID, http, run, start, stop, sleep, withTimeout, tail } = e2e;
const ok = tap.ok;

const PUBLISH_DURATION_S = 5;
const TEST_TIMEOUT_MS = 300000;
const PUBLISH_DONE_MS = (PUBLISH_DURATION_S + 60) * 1000;
const ANCHOR_WAIT_MS = 60000; // end -> submitted -> mined -> confirmed by the service's jobs
const MINE_EVERY_MS = 300; // anvil mines only on transactions: blocks for CONFIRMATIONS
const LEAF_TYPES = ['uint256', 'uint256', 'bytes32'];

const state = { tmp: null, dbName: null, gateway: null, settlement: null, publish: null, provider: null };

// verify(args) -> {code, out}: rightsctl verify-recording with args.
async function verify(env, args) {
  return run(BIN.rightsctl, ['verify-recording', ...args], env);
}

async function main() {
  for (const v of ['DATABASE_URL', 'ETH_RPC_URL']) {
    if (!ok(Boolean(process.env[v]), `environment: ${v} is set`)) return;
  }
  for (const bin of [BIN.rightsctl, BIN.gateway, BIN.settlement]) {
    if (!ok(fs.existsSync(bin), `${path.relative(ROOT, bin)} is built`)) return;
  }
  const base = process.env.TEST_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  state.tmp = fs.mkdtempSync(path.join(base, 'evidence.'));
  const mediaDir = path.join(state.tmp, 'media');
  const { keyFile, secretFile } = e2e.writeSecrets(state.tmp);

  const db = await e2e.createDatabase(process.env.DATABASE_URL, 'evidence');
  state.dbName = db.name;
  const env = {
    ...process.env,
    DATABASE_URL: db.url,
    CHAIN_ID: CHAIN_ID.toString(),
    OPERATOR_KEY_FILE: keyFile,
    AUTH_SECRET_FILE: secretFile,
    CONFIRMATIONS: '1',
    NODE_PATH: path.join(ROOT, '.tools', 'node_modules'),
    LOG_LEVEL: 'info',
  };
  const vault = await e2e.migrateAndDeploy(env);
  if (!vault) return;
  env.VAULT_ADDRESS = vault;

  const provider = e2e.provider();
  state.provider = provider;
  const owner = ethers.Wallet.createRandom();
  const seeded = await e2e.seedDemo(env, ['--owner', owner.address, '--title', 'evidence stream']);
  const d = seeded.d;
  if (!ok(seeded.code === 0 && d && d.stream_id && d.ingest_key && d.stream_key === ethers.id(d.stream_id),
    'demo.js registers a creator and a stream (stream_key = keccak256(id))', seeded.out)) return;
  const id = d.stream_id;

  const g = await e2e.startService(BIN.gateway, { ...env, MEDIA_DIR: mediaDir,
    WEB_DIR: path.join(ROOT, 'services/gateway/web') }, 'GATEWAY_LISTEN', path.join(state.tmp, 'gateway.log'));
  state.gateway = g.entry;
  const s = await e2e.startService(BIN.settlement, env, 'SETTLEMENT_LISTEN', path.join(state.tmp, 'settlement.log'));
  state.settlement = s.entry;
  const api = s.url;

  // A recording, through the real ingest.
  state.publish = start(BIN.rightsctl, ['publish', '--api', g.url, '--stream', id, '--key', d.ingest_key,
    '--input', 'testsrc', '--ladder', '480p,360p', '--duration', String(PUBLISH_DURATION_S)],
  { cwd: ROOT, env }, path.join(state.tmp, 'publish.log'));
  const published = await withTimeout(state.publish.done, PUBLISH_DONE_MS, 'rightsctl publish');
  if (!ok(published.code === 0, `rightsctl publish --ladder 480p,360p --duration ${PUBLISH_DURATION_S} exits 0`,
    `${JSON.stringify(published)}\n${tail(path.join(state.tmp, 'publish.log'), 10)}`)) return;

  // The service anchors it; we only mine blocks (for CONFIRMATIONS).
  const t0 = Date.now();
  let rec = null;
  while (Date.now() - t0 < ANCHOR_WAIT_MS) {
    rec = await http(`${api}/v1/recordings/${id}`);
    if (rec.status === 200 && rec.json && rec.json.status === 'anchored') break;
    await provider.send('evm_mine', []);
    await sleep(MINE_EVERY_MS);
  }
  if (!ok(rec && rec.status === 200 && rec.json.status === 'anchored' && rec.json.stream_id === id &&
    rec.json.stream_key === d.stream_key && rec.json.segment_count >= 4 && /^0x[0-9a-f]{64}$/.test(rec.json.merkle_root) &&
    /^0x[0-9a-f]{64}$/.test(rec.json.tx_hash) && Number.isInteger(rec.json.block_number),
  `the service anchors the ended recording by itself (GET /v1/recordings/{id}: anchored after ${Date.now() - t0} ms)`,
  `${rec && rec.status} ${rec && rec.text}\n${tail(path.join(state.tmp, 'settlement.log'), 20)}`)) return;

  // The package, checked with independent tools.
  const evRes = await http(`${api}/v1/recordings/${id}/evidence`);
  const ev = evRes.json;
  if (!ok(evRes.status === 200 && evRes.type.startsWith('application/json') && ev && ev.root === rec.json.merkle_root &&
    ev.tx_hash === rec.json.tx_hash && ev.block_number === rec.json.block_number && ev.stream_id === id &&
    ev.stream_key === d.stream_key && ev.chain_id === Number(CHAIN_ID) && ev.vault === ethers.getAddress(vault) &&
    JSON.stringify(ev.leaf_types) === JSON.stringify(LEAF_TYPES) && JSON.stringify(ev.renditions) === '["0","1"]' &&
    ev.leaves.length === rec.json.segment_count && ev.segments.length === ev.leaves.length,
  'GET /v1/recordings/{id}/evidence: chain, vault, stream, root, tx, block, renditions, leaf types, leaves',
  `${evRes.status} ${evRes.text.slice(0, 2000)}`)) return;
  const evidenceFile = path.join(state.tmp, 'evidence.json');
  fs.writeFileSync(evidenceFile, evRes.bytes);

  let loaded = null;
  try { loaded = StandardMerkleTree.load(ev.tree); } catch (e) { ok(false, 'StandardMerkleTree.load', e.message); }
  ok(loaded && loaded.root === ev.root && loaded.length === ev.leaves.length,
    '@openzeppelin/merkle-tree StandardMerkleTree.load(evidence.tree) accepts the dump as is; its root is the package\'s',
    loaded && loaded.root);
  const rebuilt = StandardMerkleTree.of(ev.leaves.map((l) => [String(l[0]), String(l[1]), l[2]]), ev.leaf_types);
  ok(rebuilt.root === ev.root, 'StandardMerkleTree.of(leaves, leaf_types).root is the package\'s root', rebuilt.root);
  const proofsOk = loaded && ev.leaves.every((l, i) =>
    StandardMerkleTree.verify(ev.root, LEAF_TYPES, [String(l[0]), String(l[1]), l[2]], loaded.getProof(i)));
  ok(proofsOk, 'every leaf has an OZ proof against the root');

  const bad = [];
  ev.leaves.forEach((l, i) => {
    const seg = ev.segments[i];
    const file = path.join(mediaDir, id, ev.renditions[l[0]], seg.name);
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : null;
    const sha = bytes && `0x${crypto.createHash('sha256').update(bytes).digest('hex')}`;
    if (!bytes || sha !== l[2] || seg.rendition !== l[0] || seg.sequence !== l[1] || seg.bytes !== bytes.length) {
      bad.push(`${file}: ${sha} vs ${l[2]}`);
    }
  });
  ok(bad.length === 0, `every leaf is (rendition, sequence, sha256) of its file under MEDIA_DIR (${ev.leaves.length} files)`,
    bad.join('\n'));

  const vaultC = new ethers.Contract(vault, ['function recordingRoot(bytes32) view returns (bytes32)',
    'event RecordingAnchored(bytes32 indexed streamKey, bytes32 root, uint256 segmentCount)'], provider);
  const onchain = await vaultC.recordingRoot(ev.stream_key);
  ok(onchain === ev.root, 'ethers: vault.recordingRoot(streamKey) is the package\'s root', onchain);
  const receipt = await provider.getTransactionReceipt(ev.tx_hash);
  const logs = receipt ? receipt.logs.filter((l) => l.address.toLowerCase() === vault.toLowerCase())
    .map((l) => vaultC.interface.parseLog(l)).filter((l) => l && l.name === 'RecordingAnchored') : [];
  ok(receipt && receipt.status === 1 && receipt.blockNumber === ev.block_number && logs.length === 1 &&
    logs[0].args.streamKey === ev.stream_key && logs[0].args.root === ev.root &&
    logs[0].args.segmentCount === BigInt(ev.leaves.length),
  'the anchor transaction succeeded in the package\'s block with RecordingAnchored(streamKey, root, count)',
  JSON.stringify(receipt && { status: receipt.status, block: receipt.blockNumber, logs: logs.length }));
  const block = await provider.getBlock(ev.block_number);
  ok(block && block.timestamp === ev.block_timestamp, 'the block\'s timestamp is the package\'s block_timestamp',
    `${block && block.timestamp} vs ${ev.block_timestamp}`);

  // rightsctl verify-recording, as an auditor runs it.
  const rpc = ['--rpc', process.env.ETH_RPC_URL];
  let v = await verify(env, ['--stream', id, '--api', api, '--media', mediaDir, ...rpc]);
  ok(v.code === 0 && /^verified: \d+ segments anchored on chain 31337 in block \d+, every file matches$/m.test(v.out) &&
    !/^FAIL/m.test(v.out), 'rightsctl verify-recording --api --media: exit 0, verified', v.out);
  v = await verify(env, ['--stream', id, '--evidence', evidenceFile, '--media', mediaDir, '--vault', vault, ...rpc]);
  ok(v.code === 0 && /^verified: /m.test(v.out), 'rightsctl verify-recording --evidence FILE --vault: exit 0', v.out);

  // Tampering.
  const victim = Math.min(3, ev.leaves.length - 1);
  const vl = ev.leaves[victim];
  const victimFile = path.join(mediaDir, id, ev.renditions[vl[0]], ev.segments[victim].name);
  const original = fs.readFileSync(victimFile);
  const altered = Buffer.from(original);
  altered[altered.length >> 1] ^= 0x01;
  fs.writeFileSync(victimFile, altered);
  v = await verify(env, ['--stream', id, '--api', api, '--media', mediaDir, ...rpc]);
  const segLines = v.out.split('\n').filter((l) => l.startsWith('FAIL segment '));
  ok(v.code === 1 && segLines.length === 1 &&
    segLines[0].startsWith(`FAIL segment rendition ${vl[0]} (${ev.renditions[vl[0]]}) sequence ${vl[1]} file ${victimFile}: sha256 0x`) &&
    /^FAILED: 2 discrepancies$/m.test(v.out) && /^ok {3}vault .*recordingRoot\(streamKey\) on chain is 0x[0-9a-f]{64}, the package's root$/m.test(v.out),
  'one byte of one segment file altered: verify-recording exits 1 naming that segment (rendition, sequence, file) alone',
  v.out);
  fs.writeFileSync(victimFile, original);

  const forged = JSON.parse(fs.readFileSync(evidenceFile, 'utf8'));
  forged.leaves[0][2] = `0x${'11'.repeat(32)}`;
  const forgedFile = path.join(state.tmp, 'forged.json');
  fs.writeFileSync(forgedFile, JSON.stringify(forged));
  v = await verify(env, ['--stream', id, '--evidence', forgedFile, ...rpc]);
  ok(v.code === 1 && /^FAIL the root of the \d+ leaves is the package's root/m.test(v.out),
    'a package with one leaf altered: verify-recording exits 1 (the leaves no longer give the root)', v.out);
  v = await verify(env, ['--stream', id, '--evidence', evidenceFile, '--vault', ADDRESS_OTHER, ...rpc]);
  ok(v.code === 1 && /^FAIL the package names vault /m.test(v.out), '--vault naming another vault: exit 1', v.out);
}

const ADDRESS_OTHER = '0x000000000000000000000000000000000000dEaD';

async function cleanup() {
  await stop(state.publish);
  await stop(state.settlement, 10000);
  await stop(state.gateway, 10000);
  await e2e.stopAll();
  if (state.provider) state.provider.destroy();
  await e2e.dropDatabase(process.env.DATABASE_URL, state.dbName);
  if (state.tmp && tap.failed() === 0) fs.rmSync(state.tmp, { recursive: true, force: true });
  else if (state.tmp) console.log(`# logs kept in ${state.tmp}`);
}

e2e.main(main, cleanup, { timeoutMs: TEST_TIMEOUT_MS, label: 'evidence end to end' });
