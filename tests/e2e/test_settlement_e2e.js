#!/usr/bin/env node
// test_settlement_e2e.js - the money loop end to end (issue "Done when": fan
// payment -> ledger -> on-chain root -> payee claim), against real
// PostgreSQL, anvil and the settlement service binary, with ethers, siwe and
// @openzeppelin/merkle-tree as the independent tools:
//   * a fresh database migrated by `rightsctl migrate`, the vault deployed by
//     `rightsctl deploy` (operator = anvil 0, OPERATOR_KEY_FILE; no audit
//     window, no claim expiry); the settlement service on a free port
//     (CONFIRMATIONS 1): it indexes, deploys passes, settles and follows its
//     batches by itself; this test only mines blocks;
//   * a creator as a creator makes one: SIWE sign-in (siwe + an ethers
//     wallet), POST /v1/creators, PUT splits 35/25/15/10/15 % over five payee
//     wallets, POST passes (the operator deploys the RightsPass), POST
//     streams;
//   * fans pay with ethers: a pass mint, a tip (vault.tip) and a royalty
//     (plain ETH to the pass); GET balances (owner) shows them confirmed and
//     split;
//   * POST /v1/creators/{id}/settlements -> 202; the batch becomes claimable;
//     StandardMerkleTree.of(GET leaves, ["address","uint256"]).root is the
//     batch's merkle_root and vault.settlementRoot(batchKey); the leaves are
//     the balances and sum to settlementTotal;
//   * every payee claims from its own wallet with the served proof (equal to
//     OZ's getProof) and receives exactly its amount (balance delta + gas);
//     a second claim reverts on chain (AlreadyClaimed); the API then shows
//     every leaf claimed; another POST is 409 (nothing left to settle).
//
//   DATABASE_URL=... ETH_RPC_URL=... [CHAIN_ID=31337] [TEST_TMPDIR=...] [BUILD_DIR=build] \
//   NODE_PATH=.tools/node_modules node tests/e2e/test_settlement_e2e.js
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const ethers = require('ethers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const e2e = require('../lib/e2e.js');
const tap = require('../lib/tap.js');
const apiclient = require('../../services/stack/apiclient.js');

const { ROOT, BIN, CHAIN_ID, sleep, tail } = e2e;
const ok = tap.ok;

const TEST_TIMEOUT_MS = 300000;
const WAIT_MS = 60000; // each wait for the service (indexing, deploys, settling, claims seen)
const MINE_EVERY_MS = 300; // anvil mines only on transactions: blocks for CONFIRMATIONS
// anvil account 4: funds the payees and fans (never the operator, whose nonces the service owns).
const FUNDER_KEY = '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a';
const FUND_WEI = ethers.parseEther('1');
const PRICE_WEI = ethers.parseEther('0.01') + 7n;
const TIP_WEI = ethers.parseEther('0.02') + 3n;
const ROYALTY_WEI = ethers.parseEther('0.005') + 1n;
const ROYALTY_GAS = 200000n;
const SPLIT = [['composer', 3500], ['performer', 2500], ['mixer', 1500], ['equipment', 1000], ['community', 1500]];
const LEAF_TYPES = ['address', 'uint256'];
const VAULT_ABI = [
  'function tip(bytes32 creatorKey, bytes32 streamKey) payable',
  'function claim(bytes32 batchKey, address account, uint256 amount, bytes32[] proof)',
  'function settlementRoot(bytes32) view returns (bytes32)',
  'function settlementTotal(bytes32) view returns (uint256)',
  'function claimed(bytes32, address) view returns (bool)',
  'function settlementRemaining(bytes32) view returns (uint256)',
  'error AlreadyClaimed(bytes32 batchKey, address account)',
];
const PASS_ABI = ['function mint() payable returns (uint256)'];

const state = { tmp: null, dbName: null, dbAdminUrl: process.env.DATABASE_URL, provider: null };

// waitFor(what, fn) -> fn's last value: fn() until truthy, mining a block between tries.
async function waitFor(provider, fn) {
  const t0 = Date.now();
  let v = await fn();
  while (!v && Date.now() - t0 < WAIT_MS) {
    await provider.send('evm_mine', []);
    await sleep(MINE_EVERY_MS);
    v = await fn();
  }
  return v;
}

// The creator, its split over the payees, its pass and a stream, through the API.
async function makeCreator(st, payees, provider) {
  const c = await st.post('/v1/creators', { name: 'e2e settlement' });
  if (!ok(c.status === 201 && c.json && c.json.creator_key === ethers.id(c.json.id), 'POST /v1/creators (SIWE session) -> 201', c.text)) return null;
  const base = `/v1/creators/${c.json.id}`;
  const shares = SPLIT.map(([role, bps], i) => ({ payee: payees[i].address, role, bps }));
  const sp = await st.put(`${base}/splits`, { shares });
  if (!ok(sp.status === 201, 'PUT splits 35/25/15/10/15 % over five payees -> 201', sp.text)) return null;
  const p = await st.post(`${base}/passes`, { name: 'E2E pass', symbol: 'E2E', price_wei: PRICE_WEI.toString(), max_supply: '100', royalty_bps: 500 });
  if (!ok(p.status === 201 && p.json && ethers.isAddress(p.json.contract), 'POST passes -> 201 {contract, tx_hash}', p.text)) return null;
  const code = await waitFor(provider, async () => (await provider.getCode(p.json.contract)) !== '0x');
  if (!ok(code, 'the service deploys the RightsPass (its code is on chain)', p.json.contract)) return null;
  const s = await st.post(`${base}/streams`, { title: 'e2e', access: { passes: [{ contract: p.json.contract, min_balance: '1' }], tip_min_wei: '1' } });
  if (!ok(s.status === 201 && s.json && s.json.stream_key === ethers.id(s.json.id), 'POST streams -> 201', s.text)) return null;
  return { id: c.json.id, key: c.json.creator_key, pass: p.json.contract, streamKey: s.json.stream_key, base };
}

// Fans pay: a mint, a tip and a royalty; each receipt succeeded.
async function pay(fans, vault, creator) {
  const mint = await (await new ethers.Contract(creator.pass, PASS_ABI, fans[0]).mint({ value: PRICE_WEI })).wait();
  const tip = await (await new ethers.Contract(vault, VAULT_ABI, fans[1]).tip(creator.key, creator.streamKey, { value: TIP_WEI })).wait();
  // A fixed gas limit: an estimate finds the least gas that succeeds, with
  // which receive() keeps the royalty in the pass instead of forwarding it.
  const royalty = await (await fans[2].sendTransaction({ to: creator.pass, value: ROYALTY_WEI, gasLimit: ROYALTY_GAS })).wait();
  return ok(mint.status === 1 && tip.status === 1 && royalty.status === 1,
    'fans mint a pass, tip the stream and pay a royalty (ethers)');
}

// The tree index of payee's leaf.
function indexOf(tree, payee) {
  for (const [i, v] of tree.entries()) if (v[0] === payee) return i;
  return -1;
}

// Every payee claims with the served proof; a second claim reverts.
async function claimAll(api, vault, batch, payees, tree) {
  const vc = new ethers.Contract(vault, VAULT_ABI, payees[0].provider);
  const bad = [];
  for (const leaf of batch.leaves) {
    const wallet = payees.find((p) => p.address === leaf.payee);
    const pr = await e2e.http(`${api}/v1/settlements/${batch.id}/proofs/${leaf.payee}`);
    const index = indexOf(tree, leaf.payee);
    if (pr.status !== 200 || pr.json.amount_wei !== leaf.amount_wei || pr.json.root !== batch.merkle_root ||
      JSON.stringify(pr.json.proof) !== JSON.stringify(tree.getProof(index))) {
      bad.push(`proof of ${leaf.payee}: ${pr.status} ${pr.text}`);
      continue;
    }
    const r = await (await vc.connect(wallet).claim(batch.batch_key, leaf.payee, BigInt(leaf.amount_wei), pr.json.proof)).wait();
    const was = await wallet.provider.getBalance(leaf.payee, r.blockNumber - 1);
    const now = await wallet.provider.getBalance(leaf.payee, r.blockNumber);
    if (r.status !== 1 || now - was + r.fee !== BigInt(leaf.amount_wei)) bad.push(`${leaf.payee}: delta ${now - was} + gas ${r.fee} != ${leaf.amount_wei}`);
  }
  ok(bad.length === 0, 'every payee claims with the served proof (= OZ getProof) and receives exactly its amount (delta + gas)', bad.join('\n'));
  const first = batch.leaves[0];
  const wallet = payees.find((p) => p.address === first.payee);
  let reverted = null;
  try {
    await vc.connect(wallet).claim.staticCall(batch.batch_key, first.payee, BigInt(first.amount_wei),
      tree.getProof(indexOf(tree, first.payee)));
  } catch (e) {
    reverted = e.revert ? e.revert.name : e.message;
  }
  let minedStatus = null;
  try {
    const tx = await vc.connect(wallet).claim(batch.batch_key, first.payee, BigInt(first.amount_wei),
      tree.getProof(indexOf(tree, first.payee)), { gasLimit: 200000n });
    minedStatus = (await tx.wait()).status;
  } catch (e) {
    minedStatus = e.receipt ? e.receipt.status : e.message;
  }
  ok(reverted === 'AlreadyClaimed' && minedStatus === 0, 'a second claim reverts: AlreadyClaimed, and mined with status 0',
    `${reverted} / ${minedStatus}`);
  const remaining = await vc.settlementRemaining(batch.batch_key);
  ok(remaining === 0n, 'vault.settlementRemaining(batchKey) is 0 after every claim', remaining);
}

async function main() {
  for (const v of ['DATABASE_URL', 'ETH_RPC_URL']) {
    if (!ok(Boolean(process.env[v]), `environment: ${v} is set`)) return;
  }
  for (const bin of [BIN.rightsctl, BIN.settlement]) {
    if (!ok(fs.existsSync(bin), `${path.relative(ROOT, bin)} is built`)) return;
  }
  const base = process.env.TEST_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  state.tmp = fs.mkdtempSync(path.join(base, 'settle.'));
  const { keyFile, secretFile } = e2e.writeSecrets(state.tmp);
  const db = await e2e.createDatabase(process.env.DATABASE_URL, 'settle');
  state.dbName = db.name;
  const env = {
    ...process.env, DATABASE_URL: db.url, CHAIN_ID: CHAIN_ID.toString(), OPERATOR_KEY_FILE: keyFile,
    AUTH_SECRET_FILE: secretFile, CONFIRMATIONS: '1', LOG_LEVEL: 'info',
  };
  const vault = await e2e.migrateAndDeploy(env);
  if (!vault) return;
  env.VAULT_ADDRESS = vault;
  const logFile = path.join(state.tmp, 'settlement.log');
  const s = await e2e.startService(BIN.settlement, env, 'SETTLEMENT_LISTEN', logFile);
  const api = s.url;

  const provider = e2e.provider();
  state.provider = provider;
  const funder = new ethers.Wallet(FUNDER_KEY, provider);
  const payees = SPLIT.map(() => ethers.Wallet.createRandom().connect(provider));
  const fans = [0, 1, 2].map(() => ethers.Wallet.createRandom().connect(provider));
  if (!ok(await e2e.fund(funder, [...payees, ...fans].map((w) => w.address), FUND_WEI), 'payees and fans funded')) return;

  const owner = ethers.Wallet.createRandom();
  const session = await apiclient.signIn(api, s.domain, owner, CHAIN_ID);
  if (!ok(session.token, 'SIWE sign-in of the owner (siwe message, ethers signature)', session.why)) return;
  const st = apiclient.api(api, session.token);
  const creator = await makeCreator(st, payees, provider);
  if (!creator || !await pay(fans, vault, creator)) return;

  const paid = PRICE_WEI + TIP_WEI + ROYALTY_WEI;
  let balances = null;
  await waitFor(provider, async () => {
    const r = await st.get(`${creator.base}/balances`);
    balances = r.json;
    return r.status === 200 && r.json.balances.reduce((a, b) => a + BigInt(b.unsettled_wei), 0n) === paid;
  });
  if (!ok(balances && balances.balances.length === 5 &&
    balances.balances.reduce((a, b) => a + BigInt(b.unsettled_wei), 0n) === paid,
  'GET balances: the three payments confirmed and split among the five payees', JSON.stringify(balances))) return;

  const none = await apiclient.api(api, null).post(`${creator.base}/settlements`);
  ok(none.status === 401, 'POST settlements without a session -> 401', none.text);
  const post = await st.post(`${creator.base}/settlements`);
  if (!ok(post.status === 202 && post.json && post.json.status === 'pending' && post.json.batch_key === ethers.id(post.json.id),
    'POST /v1/creators/{id}/settlements -> 202 {id, batch_key = keccak256(id), status pending}', post.text)) return;
  const id = post.json.id;
  let batch = null;
  await waitFor(provider, async () => {
    const r = await e2e.http(`${api}/v1/settlements/${id}`);
    batch = r.json;
    return r.status === 200 && r.json.status === 'claimable';
  });
  if (!ok(batch && batch.status === 'claimable' && /^0x[0-9a-f]{64}$/.test(batch.tx_hash) && Number.isInteger(batch.block_number),
    'the service anchors the batch by itself: GET /v1/settlements/{id} is claimable', `${JSON.stringify(batch)}\n${tail(logFile, 20)}`)) return;

  const tree = StandardMerkleTree.of(batch.leaves.map((l) => [l.payee, l.amount_wei]), LEAF_TYPES);
  const vc = new ethers.Contract(vault, VAULT_ABI, provider);
  const onchain = await vc.settlementRoot(batch.batch_key);
  ok(tree.root === batch.merkle_root && onchain === tree.root,
    '@openzeppelin/merkle-tree root of the served leaves = merkle_root = vault.settlementRoot(batchKey)', `${tree.root} ${batch.merkle_root} ${onchain}`);
  const sum = batch.leaves.reduce((a, l) => a + BigInt(l.amount_wei), 0n);
  const expected = balances.balances.filter((b) => BigInt(b.unsettled_wei) > 0n)
    .map((b) => `${b.payee}:${b.unsettled_wei}`).sort().join(',');
  ok(sum === paid && BigInt(batch.total_wei) === paid && (await vc.settlementTotal(batch.batch_key)) === paid &&
    batch.leaves.map((l) => `${l.payee}:${l.amount_wei}`).sort().join(',') === expected,
  'the leaves are the unsettled balances, sum to total_wei and to vault.settlementTotal', JSON.stringify(batch.leaves));

  await claimAll(api, vault, batch, payees, tree);
  const seen = await waitFor(provider, async () => {
    const r = await e2e.http(`${api}/v1/settlements/${id}`);
    return r.status === 200 && r.json.leaves.every((l) => l.claimed) ? r.json : null;
  });
  ok(seen, 'GET /v1/settlements/{id}: every leaf claimed once the Claimed logs are confirmed');
  const again = await st.post(`${creator.base}/settlements`);
  ok(again.status === 409, 'another POST settlements -> 409: nothing left to settle', again.text);
  const list = await e2e.http(`${api}/v1/creators/${creator.id}/settlements`);
  ok(list.status === 200 && list.json.settlements.length === 1 && list.json.settlements[0].id === id,
    'GET /v1/creators/{id}/settlements lists the batch', list.text);
}

e2e.main(main, () => e2e.teardown(state), { timeoutMs: TEST_TIMEOUT_MS, label: 'settlement end to end' });
