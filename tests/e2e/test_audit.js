#!/usr/bin/env node
// test_audit.js - `rightsctl audit`, the DAO's independent audit and veto,
// against real PostgreSQL, anvil and the settlement service binary:
//   * a fresh database migrated by `rightsctl migrate`; the vault deployed by
//     `rightsctl deploy --claim-delay 3600` (an audit window of an hour;
//     operator = anvil 0, admin and guardian = anvil 9); the settlement
//     service on a free port (CONFIRMATIONS 1) settles and follows batches
//     by itself; a creator with a 50/30/20 % split over three payees and a
//     stream, through the API (SIWE session); a fan tips with vault.tip();
//   * clean: after the first batch is anchored, and again once a payee has
//     claimed, `audit --creator ID` prints exactly one "ok" line per
//     settlement and creator and "audit passed", exit 0; without --creator
//     the audit lists every creator through GET /v1/creators (here the
//     one) and prints exactly the same report, exit 0;
//   * tampering: one unclaimed leaf's amount raised by 1 wei in the database
//     as a superuser (session_replication_role = replica skips the trigger
//     that keeps leaves fixed): exit 1 with exactly three FAIL lines, the
//     last naming that settlement, batch key and payee with the API's and
//     the anchored amounts; restored: clean again; an unclaimed leaf marked
//     claimed in the database: exit 1, one FAIL line naming the payee;
//   * stolen operator key: a second tip, then settle() signed directly with
//     the operator key (not through the service) for the creator's
//     unallocated revenue: the service cannot settle it (409), the audit
//     flags the batch as unknown to the API (exit 1, one FAIL line);
//     `--cancel --guardian-key` cancels it inside the window (veto line; no
//     wei left the vault: its balance is unchanged, settlementRemaining 0,
//     unallocatedOf back); the next audit is clean with a note; the next
//     batch settles exactly the second tip's split, and the audit is clean;
//   * outside the window: a third tip and 18 more rogue settles (21 batch
//     keys: the views take two JSON-RPC batches), the chain's clock moved
//     past their claimableAt: each flagged, and --cancel reports each NOT
//     cancelled (window closed), exit 1;
//   * flags: --help exits 0; --cancel without --guardian-key exits 2.
// AUDIT_E2E_SHOW=1 prints every audit report as TAP comments.
//
//   DATABASE_URL=... ETH_RPC_URL=... [CHAIN_ID=31337] [TEST_TMPDIR=...] [BUILD_DIR=build] \
//   NODE_PATH=.tools/node_modules node tests/e2e/test_audit.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ethers = require('ethers');

const e2e = require('../lib/e2e.js');
const tap = require('../lib/tap.js');
const apiclient = require('../../services/stack/apiclient.js');
const demo = require('../../services/stack/demo.js');

const { ROOT, BIN, CHAIN_ID, sleep, tail } = e2e;
const ok = tap.ok;

const TEST_TIMEOUT_MS = 300000;
const WAIT_MS = 60000; // each wait for the service
const MINE_EVERY_MS = 300;
const CLAIM_DELAY_S = 3600;
// anvil account 5 funds the payees and the fan; 9 is the vault's guardian.
const FUNDER_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba';
const GUARDIAN_KEY = '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6';
const FUND_WEI = ethers.parseEther('1');
const TIPS = [ethers.parseEther('0.03') + 11n, ethers.parseEther('0.02') + 7n, ethers.parseEther('0.01') + 5n];
const LATE_ROGUES = 18; // with the 3 batches before: 21 batch keys, above 20 per views request
const SPLIT = [['composer', 5000], ['performer', 3000], ['mixer', 2000]];
const VAULT_ABI = [
  'function tip(bytes32 creatorKey, bytes32 streamKey) payable',
  'function settle(bytes32 batchKey, bytes32 creatorKey, bytes32 root, uint256 total)',
  'function claim(bytes32 batchKey, address account, uint256 amount, bytes32[] proof)',
  'function settlementRemaining(bytes32) view returns (uint256)',
  'function unallocatedOf(bytes32) view returns (uint256)',
  'event SettlementAnchored(bytes32 indexed batchKey, bytes32 indexed creatorKey, bytes32 root, uint256 total, uint64 claimableAt)',
  'event SettlementCancelled(bytes32 indexed batchKey, bytes32 indexed creatorKey, uint256 total)',
];

const state = { tmp: null, dbName: null, dbAdminUrl: process.env.DATABASE_URL, provider: null };

// until(provider, fn) -> fn's last value: fn() until truthy, a block mined between tries.
async function until(provider, fn) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > deadline) return v;
    await provider.send('evm_mine', []);
    await sleep(MINE_EVERY_MS);
  }
}

// The report's own lines (stderr's log lines left out).
function report(out) {
  return out.split('\n').filter((l) => /^(ok |FAIL|note|veto|audit |AUDIT )/.test(l));
}

// expect(r, code, lines, what): exit code and every report line, in order
// (a RegExp matches a whole line).
function expect(r, code, lines, what) {
  const got = report(r.out);
  if (process.env.AUDIT_E2E_SHOW) console.log(got.map((l) => `# ${l}`).join('\n'));
  const same = got.length === lines.length &&
    lines.every((want, i) => (want instanceof RegExp ? want.test(got[i]) : want === got[i]));
  return ok(r.code === code && same, what,
    `exit ${r.code} (want ${code})\n--- got\n${got.join('\n')}\n--- want\n${lines.join('\n')}`);
}

const re = (text) => new RegExp(`^${text}$`);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The audit header line for this API and vault.
function header(api, vault) {
  return re(`audit of ${esc(api)} against chain ${CHAIN_ID}, vault ${vault} \\(named by the API\\), blocks 0\\.\\.\\d+`);
}

function passed(settlements, leaves, batches, notes) {
  return re(`audit passed: 1 creators, ${settlements} settlements, ${leaves} leaves, ${batches} batches on chain at block \\d+, ${notes} notes`);
}

function settlementOk(b, status) {
  return `ok   settlement ${b.id} (batch ${b.batch_key}): ${status}, ${b.leaves.length} leaves, ${b.total_wei} wei, ` +
    `root ${b.merkle_root} = the anchored root; claims match the leaves`;
}

function creatorOk(creator, n, settledWei, receivedWei, unallocatedWei) {
  return `ok   creator ${creator.id}: ${n} settlements; ${settledWei} wei settled of ${receivedWei} wei received on chain, ` +
    `${unallocatedWei} wei unallocated`;
}

// The creator with its split and a stream, through the API.
async function makeCreator(st, payees) {
  const c = await st.post('/v1/creators', { name: 'audit e2e' });
  if (!ok(c.status === 201 && c.json && c.json.creator_key === ethers.id(c.json.id), 'POST /v1/creators -> 201', c.text)) return null;
  const base = `/v1/creators/${c.json.id}`;
  const sp = await st.put(`${base}/splits`, { shares: SPLIT.map(([role, bps], i) => ({ payee: payees[i].address, role, bps })) });
  if (!ok(sp.status === 201, 'PUT splits 50/30/20 % over three payees -> 201', sp.text)) return null;
  const s = await st.post(`${base}/streams`, { title: 'audit', access: { passes: [], tip_min_wei: '1' } });
  if (!ok(s.status === 201 && s.json && s.json.stream_key === ethers.id(s.json.id), 'POST streams -> 201', s.text)) return null;
  return { id: c.json.id, key: c.json.creator_key, streamKey: s.json.stream_key, base };
}

// A tip, then the owner's balances until the unsettled sum is `unsettled`.
async function tipAndConfirm(t, fan, vault, creator, amount, unsettled, what) {
  const r = await (await new ethers.Contract(vault, VAULT_ABI, fan).tip(creator.key, creator.streamKey, { value: amount })).wait();
  let balances = null;
  const seen = await until(fan.provider, async () => {
    const b = await t.st.get(`${creator.base}/balances`);
    balances = b.json;
    return b.status === 200 && b.json.balances.reduce((a, x) => a + BigInt(x.unsettled_wei), 0n) === unsettled;
  });
  ok(r.status === 1 && seen, what, JSON.stringify(balances));
  return seen ? balances : null;
}

// POST settlements, then GET the batch until its status is `status`.
async function settle(t, creator, status) {
  const post = await t.st.post(`${creator.base}/settlements`);
  if (!ok(post.status === 202 && post.json, 'POST /v1/creators/{id}/settlements -> 202', post.text)) return null;
  let batch = null;
  await until(t.provider, async () => {
    const r = await e2e.http(`${t.api}/v1/settlements/${post.json.id}`);
    batch = r.json;
    return r.status === 200 && r.json.status === status;
  });
  ok(batch && batch.status === status, `the service anchors the batch by itself: ${status}`,
    `${JSON.stringify(batch)}\n${tail(t.logFile, 20)}`);
  return batch && batch.status === status ? batch : null;
}

// A settle() signed directly with the operator key: {batchKey, root, receipt, claimableAt}.
async function rogueSettle(t, creator, total) {
  const operator = new ethers.Wallet(e2e.OPERATOR_KEY, t.provider);
  const batchKey = ethers.id(crypto.randomUUID());
  const root = ethers.hexlify(crypto.randomBytes(32));
  // Straight from the node: ethers caches getTransactionCount for a moment.
  const nonce = Number(await t.provider.send('eth_getTransactionCount', [operator.address, 'pending']));
  const tx = await new ethers.Contract(t.vault, VAULT_ABI, operator).settle(batchKey, creator.key, root, total,
    { nonce, gasLimit: 300000n, type: 2, chainId: CHAIN_ID, ...await demo.fees(t.provider) });
  const receipt = await tx.wait();
  const iface = new ethers.Interface(VAULT_ABI);
  const log = receipt.logs.map((l) => iface.parseLog(l)).find((l) => l && l.name === 'SettlementAnchored');
  ok(receipt.status === 1 && log, 'a rogue settle() signed directly with the operator key is mined', receipt.hash);
  return { batchKey, root, receipt, claimableAt: log ? log.args.claimableAt : 0n };
}

function rogueFail(rogue, creator, total) {
  return `FAIL batch ${rogue.batchKey} (creator key ${creator.key}): anchored on chain in block ${rogue.receipt.blockNumber} ` +
    `(tx ${rogue.receipt.hash}) with root ${rogue.root}, total ${total} wei, claimable at ${rogue.claimableAt}, ` +
    'claimed 0 wei, yet unknown to the API';
}

// Moves the chain's clock past an audit window and mines.
async function passWindow(provider) {
  await provider.send('evm_increaseTime', [CLAIM_DELAY_S + 1]);
  await provider.send('evm_mine', []);
}

// The leaf of one payee of one settlement (psql variables sid and payee).
const LEAF_ROW = "WHERE settlement_id = :'sid'::uuid AND payee = decode(:'payee', 'hex')";
const leafVars = (settlementId, payee) => ({ sid: settlementId, payee: payee.slice(2).toLowerCase() });

// One leaf's amount in the database, as a superuser: +delta wei, bypassing the
// trigger that keeps leaves fixed. Returns the new amount.
async function tamper(dbUrl, settlementId, payee, delta) {
  const out = await demo.psql(dbUrl, 'SET session_replication_role = replica;\n' +
    `UPDATE settlement_leaves SET amount_wei = amount_wei + (:'delta')::numeric ${LEAF_ROW};\n` +
    `SELECT amount_wei FROM settlement_leaves ${LEAF_ROW};\n`,
  { ...leafVars(settlementId, payee), delta: delta.toString() });
  return out.trim();
}

// Marks a leaf claimed (by a made-up transaction) or unclaimed in the database.
async function markClaimed(dbUrl, settlementId, payee, claimed) {
  const set = claimed ? "claimed = true, claimed_tx_hash = decode(repeat('ab', 32), 'hex'), claimed_block = 1"
    : 'claimed = false, claimed_tx_hash = NULL, claimed_block = NULL';
  const out = await demo.psql(dbUrl, `UPDATE settlement_leaves SET ${set} ${LEAF_ROW};\n` +
    `SELECT claimed FROM settlement_leaves ${LEAF_ROW};\n`, leafVars(settlementId, payee));
  return out.trim() === (claimed ? 't' : 'f');
}

async function setup(t) {
  const base = process.env.TEST_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  state.tmp = fs.mkdtempSync(path.join(base, 'audit.'));
  const { keyFile, secretFile } = e2e.writeSecrets(state.tmp);
  t.guardianKeyFile = path.join(state.tmp, 'guardian.key');
  fs.writeFileSync(t.guardianKeyFile, `${GUARDIAN_KEY}\n`, { mode: 0o600 });
  const db = await e2e.createDatabase(process.env.DATABASE_URL, 'audit');
  state.dbName = db.name;
  t.dbUrl = db.url;
  t.env = {
    ...process.env, DATABASE_URL: db.url, CHAIN_ID: CHAIN_ID.toString(), OPERATOR_KEY_FILE: keyFile,
    AUTH_SECRET_FILE: secretFile, CONFIRMATIONS: '1', LOG_LEVEL: 'info',
  };
  t.vault = await e2e.migrateAndDeploy(t.env, ['--claim-delay', String(CLAIM_DELAY_S)]);
  if (!t.vault) return false;
  t.env.VAULT_ADDRESS = t.vault;
  t.logFile = path.join(state.tmp, 'settlement.log');
  const s = await e2e.startService(BIN.settlement, t.env, 'SETTLEMENT_LISTEN', t.logFile);
  t.api = s.url;
  t.provider = e2e.provider();
  state.provider = t.provider;
  t.payees = SPLIT.map(() => ethers.Wallet.createRandom().connect(t.provider));
  t.fan = ethers.Wallet.createRandom().connect(t.provider);
  const funder = new ethers.Wallet(FUNDER_KEY, t.provider);
  if (!ok(await e2e.fund(funder, [...t.payees, t.fan].map((w) => w.address), FUND_WEI), 'payees and the fan funded')) return false;
  const owner = ethers.Wallet.createRandom();
  const session = await apiclient.signIn(t.api, s.domain, owner, CHAIN_ID);
  if (!ok(session.token, 'SIWE sign-in of the owner', session.why)) return false;
  t.st = apiclient.api(t.api, session.token);
  return true;
}

// audit(t, args) -> {code, out}: rightsctl audit against the service.
function audit(t, args) {
  return e2e.run(BIN.rightsctl, ['audit', '--api', t.api, '--rpc', process.env.ETH_RPC_URL, ...args], t.env);
}

// Clean, then a claim, then clean again; without --creator.
async function cleanPhase(t, creator, batch) {
  const r = await audit(t, ['--creator', creator.id]);
  expect(r, 0, [header(t.api, t.vault), settlementOk(batch, 'anchored'), creatorOk(creator, 1, TIPS[0], TIPS[0], 0),
    passed(1, 3, 1, 0)], 'clean: audit --creator exits 0 with one ok line per settlement and creator');
  const list = await e2e.http(`${t.api}/v1/creators?limit=500`);
  ok(list.status === 200 && list.json && list.json.next_cursor === null &&
    JSON.stringify(list.json.creators.map((c) => c.id)) === JSON.stringify([creator.id]),
  'GET /v1/creators lists the one creator, in one page', list.text);
  const all = await audit(t, []);
  expect(all, 0, [header(t.api, t.vault), settlementOk(batch, 'anchored'), creatorOk(creator, 1, TIPS[0], TIPS[0], 0),
    passed(1, 3, 1, 0)], 'without --creator: every creator GET /v1/creators lists is audited, the same report, exit 0');
  // A payee claims once the window is over; the API sees it.
  await passWindow(t.provider);
  const leaf = batch.leaves.find((l) => l.payee === t.payees[0].address);
  const pr = await e2e.http(`${t.api}/v1/settlements/${batch.id}/proofs/${leaf.payee}`);
  const vc = new ethers.Contract(t.vault, VAULT_ABI, t.payees[0]);
  const claim = await (await vc.claim(batch.batch_key, leaf.payee, BigInt(leaf.amount_wei), pr.json.proof)).wait();
  const seen = await until(t.provider, async () => {
    const g = await e2e.http(`${t.api}/v1/settlements/${batch.id}`);
    return g.status === 200 && g.json.status === 'claimable' && g.json.leaves.find((l) => l.payee === leaf.payee).claimed;
  });
  ok(claim.status === 1 && seen, 'a payee claims its leaf with the served proof; the API shows it claimed');
  const again = await audit(t, ['--creator', creator.id]);
  expect(again, 0, [header(t.api, t.vault), settlementOk(batch, 'claimable'), creatorOk(creator, 1, TIPS[0], TIPS[0], 0),
    passed(1, 3, 1, 0)], 'after a claim: the claim matches its leaf, exit 0');
}

// One unclaimed leaf altered in the database, then restored.
async function tamperPhase(t, creator, batch) {
  const leaf = batch.leaves.find((l) => l.payee === t.payees[1].address);
  const raised = (BigInt(leaf.amount_wei) + 1n).toString();
  const now = await tamper(t.dbUrl, batch.id, leaf.payee, 1n);
  const served = await e2e.http(`${t.api}/v1/settlements/${batch.id}`);
  ok(now === raised && served.json.leaves.find((l) => l.payee === leaf.payee).amount_wei === raised,
    'tampering: one unclaimed leaf raised by 1 wei in the database (superuser); the API serves it', `${now} ${served.text}`);
  const label = `settlement ${batch.id} (batch ${batch.batch_key})`;
  const r = await audit(t, ['--creator', creator.id]);
  expect(r, 1, [header(t.api, t.vault),
    `FAIL ${label}: the leaves sum to ${TIPS[0] + 1n} wei, total_wei is ${TIPS[0]} wei`,
    re(`FAIL ${esc(label)}: the root of its 3 leaves is 0x[0-9a-f]{64}, not merkle_root ${batch.merkle_root}`),
    `FAIL ${label} payee ${leaf.payee}: the API's leaf is ${raised} wei, the anchored root holds ${leaf.amount_wei} wei`,
    creatorOk(creator, 1, TIPS[0], TIPS[0], 0),
    'AUDIT FAILED: 3 discrepancies'], 'tampered leaf: exit 1 naming the batch and the payee, with the API\'s and the anchored amounts');
  const back = await tamper(t.dbUrl, batch.id, leaf.payee, -1n);
  const clean = await audit(t, ['--creator', creator.id]);
  ok(back === leaf.amount_wei && clean.code === 0, 'the leaf restored: the audit is clean again', clean.out);
  // A leaf marked claimed in the database that nobody claimed on chain.
  const other = batch.leaves.find((l) => l.payee === t.payees[2].address);
  ok(await markClaimed(t.dbUrl, batch.id, other.payee, true), 'one unclaimed leaf marked claimed in the database');
  expect(await audit(t, ['--creator', creator.id]), 1, [header(t.api, t.vault),
    `FAIL ${label} payee ${other.payee}: the API says claimed, the chain has no claim`,
    creatorOk(creator, 1, TIPS[0], TIPS[0], 0), 'AUDIT FAILED: 1 discrepancy'],
  'a leaf marked claimed in the database without a claim on chain: exit 1 naming the payee');
  ok(await markClaimed(t.dbUrl, batch.id, other.payee, false), 'the claimed mark removed again');
}

// A rogue settle with the operator key, vetoed by the guardian; the next batch.
async function roguePhase(t, creator, first) {
  const split = await tipAndConfirm(t, t.fan, t.vault, creator, TIPS[1], TIPS[1], 'a second tip is confirmed and split');
  if (!split) return;
  const vaultBefore = await t.provider.getBalance(t.vault);
  const rogue = await rogueSettle(t, creator, TIPS[1]);
  const blocked = await t.st.post(`${creator.base}/settlements`);
  ok(blocked.status === 409, 'the rogue batch holds the revenue: POST settlements -> 409', blocked.text);
  const firstOk = settlementOk(first, 'claimable');
  const flagged = await audit(t, ['--creator', creator.id]);
  expect(flagged, 1, [header(t.api, t.vault), firstOk, rogueFail(rogue, creator, TIPS[1]),
    creatorOk(creator, 1, TIPS[0], TIPS[0] + TIPS[1], 0), 'AUDIT FAILED: 1 discrepancy'],
  'stolen operator key: the rogue settlement is flagged as unknown to the API, exit 1');
  const veto = await audit(t, ['--creator', creator.id, '--cancel', '--guardian-key', t.guardianKeyFile]);
  expect(veto, 1, [header(t.api, t.vault), firstOk, rogueFail(rogue, creator, TIPS[1]),
    creatorOk(creator, 1, TIPS[0], TIPS[0] + TIPS[1], 0),
    re(`veto batch ${rogue.batchKey}: cancelled by the guardian in tx 0x[0-9a-f]{64} \\(block \\d+\\)`),
    'veto 1 of 1 bad batches live on chain cancelled', 'AUDIT FAILED: 1 discrepancy'],
  '--cancel --guardian-key: the guardian cancels the rogue batch inside its window');
  const vc = new ethers.Contract(t.vault, VAULT_ABI, t.provider);
  const cancelled = await vc.queryFilter(vc.filters.SettlementCancelled(rogue.batchKey));
  ok(cancelled.length === 1 && (await t.provider.getBalance(t.vault)) === vaultBefore &&
    (await vc.settlementRemaining(rogue.batchKey)) === 0n && (await vc.unallocatedOf(creator.key)) === TIPS[1],
  'no wei left the vault: SettlementCancelled, its balance unchanged, settlementRemaining 0, unallocatedOf back');
  const note = `note batch ${rogue.batchKey} (creator key ${creator.key}): unknown to the API, anchored in block ` +
    `${rogue.receipt.blockNumber} and cancelled on chain in block ${cancelled.length ? cancelled[0].blockNumber : '?'}: nothing was paid`;
  expect(await audit(t, ['--creator', creator.id]), 0, [header(t.api, t.vault), firstOk, note,
    creatorOk(creator, 1, TIPS[0], TIPS[0] + TIPS[1], TIPS[1]), passed(1, 3, 2, 1)],
  'after the veto: clean, the cancelled rogue batch a note');
  const next = await settle(t, creator, 'anchored');
  if (!next) return;
  const want = split.balances.filter((b) => BigInt(b.unsettled_wei) > 0n).map((b) => `${b.payee}:${b.unsettled_wei}`).sort();
  ok(BigInt(next.total_wei) === TIPS[1] && JSON.stringify(next.leaves.map((l) => `${l.payee}:${l.amount_wei}`).sort()) === JSON.stringify(want),
    'the next batch settles the creator\'s revenue correctly: the second tip\'s split, total = the tip', JSON.stringify(next.leaves));
  expect(await audit(t, ['--creator', creator.id]), 0, [header(t.api, t.vault), settlementOk(next, 'anchored'), firstOk, note,
    creatorOk(creator, 2, TIPS[0] + TIPS[1], TIPS[0] + TIPS[1], 0), passed(2, 6, 3, 1)],
  'the next batch audits clean');
  t.next = next;
  t.note = note;
  t.rogue = rogue;
}

// Rogue settles found after their window closed cannot be cancelled. There
// are enough of them for the vault's views to take more than one JSON-RPC
// batch (RPC_BATCH_CALLS_MAX calls, five views a batch).
async function lateRoguePhase(t, creator, first) {
  if (!await tipAndConfirm(t, t.fan, t.vault, creator, TIPS[2], TIPS[2], 'a third tip is confirmed')) return;
  const rogues = [];
  for (let i = 0; i < LATE_ROGUES; i++) {
    const total = i + 1 < LATE_ROGUES ? TIPS[2] / BigInt(LATE_ROGUES) : TIPS[2] - (TIPS[2] / BigInt(LATE_ROGUES)) * BigInt(LATE_ROGUES - 1);
    rogues.push({ ...await rogueSettle(t, creator, total), total });
  }
  await passWindow(t.provider);
  const r = await audit(t, ['--creator', creator.id, '--cancel', '--guardian-key', t.guardianKeyFile]);
  // The chain's lines come in batch key order: the earlier rogue's note among them.
  const chainLines = [[t.rogue.batchKey, t.note], ...rogues.map((x) => [x.batchKey, rogueFail(x, creator, x.total)])]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((x) => x[1]);
  const vetoes = [...rogues].sort((a, b) => (a.batchKey < b.batchKey ? -1 : 1)).map((x) =>
    re(`veto batch ${x.batchKey}: NOT cancelled: its audit window closed at ${x.claimableAt} \\(the latest block's time is \\d+\\)`));
  expect(r, 1, [header(t.api, t.vault), re(`ok   settlement ${t.next.id} .*`), settlementOk(first, 'claimable'), ...chainLines,
    creatorOk(creator, 2, TIPS[0] + TIPS[1], TIPS[0] + TIPS[1] + TIPS[2], 0), ...vetoes,
    `veto 0 of ${LATE_ROGUES} bad batches live on chain cancelled`, `AUDIT FAILED: ${LATE_ROGUES} discrepancies`],
  `${LATE_ROGUES} rogue batches past their audit window: each flagged and reported NOT cancelled, exit 1`);
}

async function main() {
  for (const v of ['DATABASE_URL', 'ETH_RPC_URL']) {
    if (!ok(Boolean(process.env[v]), `environment: ${v} is set`)) return;
  }
  for (const bin of [BIN.rightsctl, BIN.settlement]) {
    if (!ok(fs.existsSync(bin), `${path.relative(ROOT, bin)} is built`)) return;
  }
  const t = {};
  if (!await setup(t)) return;
  const help = await e2e.run(BIN.rightsctl, ['audit', '--help'], t.env);
  ok(help.code === 0 && /^usage: rightsctl audit --api URL/m.test(help.out), 'audit --help: usage, exit 0', help.out);
  const bad = await audit(t, ['--cancel']);
  ok(bad.code === 2 && /--cancel and --guardian-key FILE go together/.test(bad.out), 'audit --cancel without --guardian-key: exit 2', bad.out);

  const creator = await makeCreator(t.st, t.payees);
  if (!creator) return;
  if (!await tipAndConfirm(t, t.fan, t.vault, creator, TIPS[0], TIPS[0], 'a fan tips; the tip is confirmed and split')) return;
  const batch = await settle(t, creator, 'anchored');
  if (!batch) return;
  await cleanPhase(t, creator, batch);
  await tamperPhase(t, creator, batch);
  await roguePhase(t, creator, batch);
  if (t.next) await lateRoguePhase(t, creator, batch);
}

e2e.main(main, () => e2e.teardown(state), { timeoutMs: TEST_TIMEOUT_MS, label: 'rightsctl audit end to end' });
