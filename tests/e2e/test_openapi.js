#!/usr/bin/env node
// test_openapi.js - docs/openapi.yaml is true of the running programs.
//
// Starts the real gateway and settlement binaries (BUILD_DIR/bin) on free
// ports against the runner's PostgreSQL (a fresh database, migrated) and
// anvil (a vault deployed by `rightsctl deploy`), sharing one
// AUTH_SECRET_FILE. Wallets sign in with ethers + siwe
// (services/stack/apiclient.js). Through the API itself it makes a creator,
// a split, a pass, two streams, ingests a real MPEG-TS segment (ffmpeg) and
// its playlists, and tips on chain. The settlement service's own jobs then
// do the rest while the walker mines blocks (anvil mines only on
// transactions; CONFIRMATIONS is 1): the tip becomes confirmed revenue, two
// settlement batches are made by POST /v1/creators/{id}/settlements and
// anchored on chain, and the recording, ended by a media playlist with
// #EXT-X-ENDLIST, is anchored, so that batches, proofs, recordings and
// evidence are read in their real states (roots and proofs checked with
// @openzeppelin/merkle-tree and against the vault). Then, for EVERY
// operation of the description, on every service that serves it, it sends
// requests with real ids, and generic ones derived from the description:
//   * without credentials and with a tampered session (secured operations);
//   * an id that is not a UUID, and an unknown UUID (operations with {id} or
//     {stream_id});
//   * a body that is not JSON, one that is not an object, and {} (JSON writes
//     whose request schema refuses {});
//   * a URL above 4096 bytes (every operation);
//   * an undocumented method on every path: 405 whose Allow header lists
//     exactly the documented methods (and HEAD beside GET);
//   * Idempotency-Key replays, mismatches and malformed keys (settlement writes).
// Every answer must have a status that the description documents for that
// operation, a documented media type, and (JSON) a body that validates
// against the documented schema (ajv, tests/lib/openapi.js); most cases also
// expect one exact status. Request bodies that the programs accepted must
// validate against the documented request schema. A 404 "no route for this
// path" or a 405 on a documented operation means the program does not serve
// it. Finally: every operation was exercised, and every row of the C route
// tables (services/gateway/server.c, services/settlement/service.c, the
// built-ins of services/common/http.c) is documented and the other way round.
//
//   DATABASE_URL=... ETH_RPC_URL=... [CHAIN_ID=31337] [TEST_TMPDIR=...] [BUILD_DIR=build] \
//   NODE_PATH=.tools/node_modules node tests/e2e/test_openapi.js
//
// Prints "ok - ..." / "not ok - ..." lines, the documented statuses that no
// request produced as "#" lines, and a closing "N passed, N failed".
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ethers = require('ethers');
const { SiweMessage } = require('siwe');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const e2e = require('../lib/e2e.js');
const oa = require('../lib/openapi.js');
const tap = require('../lib/tap.js');

const { ROOT, BIN, CHAIN_ID } = e2e;
const apiclient = require(path.join(ROOT, 'services/stack/apiclient.js'));

const TEST_TIMEOUT_MS = 300000;
const TIP_MIN_WEI = ethers.parseEther('0.001');
const FAN_FUNDS_WEI = ethers.parseEther('1');
const PASS_PRICE_WEI = ethers.parseEther('0.01');
const LONG_QUERY_BYTES = 5000; // above the HTTP layer's 4096-byte URL limit
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const MALFORMED_ID = 'Not-A-Uuid';
const UNDOCUMENTED_METHOD = 'DELETE';
const WAIT_MS = 60000; // each wait for the settlement service's jobs (indexing, settling, anchoring)
const MINE_EVERY_MS = 300; // between tries: one block each, for CONFIRMATIONS
// anvil account 6 funds the fan: the operator key's nonces belong to the
// settlement service's transaction manager.
const FUNDER_KEY = '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e';
const SETTLEMENT_LEAF_TYPES = ['address', 'uint256'];
const RECORDING_LEAF_TYPES = ['uint256', 'uint256', 'bytes32'];
const M3U8 = 'application/vnd.apple.mpegurl';
const MEDIA_PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\nindex0.ts\n';
const VAULT_ABI = [
  'function tip(bytes32 creatorKey, bytes32 streamKey) payable',
  'function settlementRoot(bytes32 batchKey) view returns (bytes32)',
  'function recordingRoot(bytes32 streamKey) view returns (bytes32)',
];

const ok = tap.ok;
const spec = oa.loadSpec();
const ops = oa.operations(spec);
const check = oa.checker(spec);

const state = { tmp: null, dbAdminUrl: null, dbName: null, provider: null, logs: {}, entries: [] };
const svc = {}; // service name -> {url, domain}
const who = {}; // role -> {wallet, token}
const fx = {}; // fixtures: ids, keys, hashes
const exercised = new Map(); // "KEY [service]" -> Set of statuses seen

// ---- requests -------------------------------------------------------------------------
// opOf(key) -> the operation, or a failure when the description lacks it.
function opOf(key) {
  const o = ops.find((x) => x.key === key);
  if (!o) ok(false, `${key} is documented`, 'the walker needs this operation; docs/openapi.yaml does not have it');
  return o || null;
}

// fill('/a/{id}', {id}) -> '/a/<id, percent-encoded>'.
function fill(template, params = {}) {
  return template.replace(/\{([a-z_]+)\}/g, (_, name) => {
    if (params[name] === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(params[name]);
  });
}

function authHeaders(auth) {
  if (!auth) return {};
  if (auth === 'tampered') return { authorization: `Bearer ${tamper(who.owner.token)}` };
  if (auth.startsWith('key:')) return { authorization: `Bearer ${auth.slice(4)}` };
  return { authorization: `Bearer ${who[auth].token}` };
}

// tamper(token) -> the token with the last hex digit of its MAC changed.
function tamper(token) {
  const last = token.slice(-1);
  return token.slice(0, -1) + (last === '0' ? '1' : '0');
}

// routeMissing(r) -> whether the answer says the program has no such route.
const routeMissing = (r) => r.status === 405 ||
  (r.status === 404 && r.json !== null && r.json.detail === 'no route for this path');

// call(service, key, name, req, expect) -> the answer, after one TAP line:
// documented status, media type and schema, and the expected status(es).
// req: {params, query, auth, headers, body (object: JSON; string/Buffer: raw), type}
async function call(service, key, name, req = {}, expect = null) {
  const o = opOf(key);
  if (!o) return null;
  const p = fill(o.path, req.params);
  const q = req.query ? `?${new URLSearchParams(req.query)}` : '';
  const headers = { ...authHeaders(req.auth), ...(req.headers || {}) };
  let body = req.body;
  if (body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string') {
    body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] = req.type || 'application/json';
  }
  const label = `${key} [${service}] ${name}`;
  let r;
  try {
    r = await e2e.http(`${svc[service].url}${p}${q}`, { method: o.method, headers, body });
  } catch (e) {
    ok(false, `${label}: answered`, e.message);
    return null;
  }
  const problems = check.response(o, r.status, r.type, r.text);
  if (routeMissing(r)) problems.push(`the ${service} program does not route ${o.method} ${o.path}`);
  const want = expect === null ? null : [].concat(expect);
  if (want && !want.includes(r.status)) problems.push(`expected ${want.join(' or ')}, got ${r.status}: ${r.text.slice(0, 300)}`);
  if (r.status < 300 && req.body !== undefined && !Buffer.isBuffer(req.body) && typeof req.body !== 'string') {
    problems.push(...check.requestBody(o, req.body));
  }
  if (r.status < 300) {
    for (const [k, v] of Object.entries(req.params || {})) problems.push(...check.parameter(o, k, v));
  }
  const k = `${key} [${service}]`;
  if (!exercised.has(k)) exercised.set(k, new Set());
  exercised.get(k).add(r.status);
  ok(problems.length === 0, `${label}: ${r.status}`, problems.join('\n'));
  return r;
}

// observed(service, fn) -> fn's result; every request fn makes to the
// service through fetch is checked against the description like call()'s.
async function observed(service, what, fn) {
  const realFetch = globalThis.fetch;
  const seen = [];
  globalThis.fetch = async (url, opts = {}) => {
    const res = await realFetch(url, opts);
    seen.push({ url: new URL(String(url)), method: (opts.method || 'GET').toUpperCase(), res: res.clone() });
    return res;
  };
  let result;
  try {
    result = await fn();
  } finally {
    globalThis.fetch = realFetch;
  }
  for (const x of seen) {
    const text = await x.res.text();
    const o = matchOp(service, x.method, x.url.pathname);
    const problems = o ? check.response(o, x.res.status, x.res.headers.get('content-type'), text)
      : [`no documented operation for ${x.method} ${x.url.pathname}`];
    const key = o ? `${o.key} [${service}]` : `${x.method} ${x.url.pathname} [${service}]`;
    if (o) {
      if (!exercised.has(key)) exercised.set(key, new Set());
      exercised.get(key).add(x.res.status);
    }
    ok(problems.length === 0, `${key} ${what}: ${x.res.status}`, problems.join('\n'));
  }
  return result;
}

// matchOp(service, method, pathname) -> the documented operation serving it
// (the most literal template that matches), or null.
function matchOp(service, method, pathname) {
  const segs = oa.splitPath(pathname);
  const fits = ops.filter((o) => o.method === method && o.services.includes(service)).filter((o) => {
    const t = oa.splitPath(o.path);
    return t.length === segs.length && t.every((s, i) => /^\{.*\}$/.test(s) || s === decodeURIComponent(segs[i]));
  });
  const literal = (o) => oa.splitPath(o.path).filter((s) => !/^\{.*\}$/.test(s)).length;
  return fits.sort((a, b) => literal(b) - literal(a))[0] || null;
}

// ---- the stack -------------------------------------------------------------------------
async function startStack() {
  for (const bin of [BIN.rightsctl, BIN.gateway, BIN.settlement]) {
    if (!ok(fs.existsSync(bin), `${path.relative(ROOT, bin)} is built`)) return false;
  }
  const base = process.env.TEST_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  state.tmp = fs.mkdtempSync(path.join(base, 'openapi.'));
  const { keyFile, secretFile } = e2e.writeSecrets(state.tmp);
  state.dbAdminUrl = process.env.DATABASE_URL;
  const db = await e2e.createDatabase(state.dbAdminUrl, 'openapi');
  state.dbName = db.name;
  const env = { ...process.env, DATABASE_URL: db.url, CHAIN_ID: CHAIN_ID.toString(), OPERATOR_KEY_FILE: keyFile };
  const vault = await e2e.migrateAndDeploy(env);
  if (!vault) return false;
  fx.vault = vault;
  const common = { ...env, VAULT_ADDRESS: vault, AUTH_SECRET_FILE: secretFile, LOG_LEVEL: 'info' };
  for (const [name, listen, extra] of [
    ['settlement', 'SETTLEMENT_LISTEN', { CONFIRMATIONS: '1' }],
    ['gateway', 'GATEWAY_LISTEN', { MEDIA_DIR: path.join(state.tmp, 'media'), WEB_DIR: path.join(ROOT, 'services/gateway/web') }],
  ]) {
    state.logs[name] = path.join(state.tmp, `${name}.log`);
    const s = await e2e.startService(BIN[name], { ...common, ...extra }, listen, state.logs[name]);
    state.entries.push(s.entry);
    svc[name] = { url: s.url, domain: s.domain };
    ok(true, `${name} starts on ${s.url} and /healthz is 200`);
  }
  state.provider = e2e.provider();
  return true;
}

// signIn(service, role): the role's wallet signs in there (every exchange checked).
async function signIn(service, role) {
  const s = await observed(service, `sign-in of ${role}`,
    () => apiclient.signIn(svc[service].url, svc[service].domain, who[role].wallet, CHAIN_ID));
  who[role].token = s.token;
  return ok(s.token !== null, `${role} signs in on the ${service} (SIWE)`, s.why);
}

// segment(name) -> bytes of a 1 s MPEG-TS segment made by ffmpeg (testsrc).
async function segment(name, seconds) {
  const file = path.join(state.tmp, name);
  const r = await e2e.run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
    `testsrc=size=64x48:rate=10:duration=${seconds}`, '-c:v', 'mpeg4', '-f', 'mpegts', file], process.env);
  if (!ok(r.code === 0 && fs.existsSync(file), `ffmpeg makes a ${seconds} s MPEG-TS segment`, r.out)) return null;
  return fs.readFileSync(file);
}

// until(what, fn) -> fn's first truthy value, or null after WAIT_MS (one TAP
// line either way): the settlement service's jobs advance on their own; the
// walker only mines a block between tries.
async function until(what, fn) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) {
      ok(true, `${what} (${Date.now() - t0} ms)`);
      return v;
    }
    if (Date.now() - t0 >= WAIT_MS) break;
    await state.provider.send('evm_mine', []);
    await e2e.sleep(MINE_EVERY_MS);
  }
  ok(false, what, `not within ${WAIT_MS} ms (the services' logs follow at the end)`);
  return null;
}

// fanTips(streamId) -> the receipt of the fan's vault.tip of TIP_MIN_WEI to the stream.
async function fanTips(streamId) {
  const vault = new ethers.Contract(fx.vault, VAULT_ABI, who.fan.wallet);
  const tx = await vault.tip(ethers.id(fx.creator), ethers.id(streamId), { value: TIP_MIN_WEI });
  const receipt = await tx.wait(1, e2e.CMD_TIMEOUT_MS);
  ok(receipt && receipt.status === 1, `the fan tips ${TIP_MIN_WEI} wei to stream ${streamId} on chain`);
  return receipt;
}

// get(path, auth) -> the settlement service's answer to GET path (unchecked: for polling).
const get = (p, auth) => e2e.http(`${svc.settlement.url}${p}`, { headers: authHeaders(auth) })
  .catch((e) => ({ status: 0, text: e.message, json: null }));

// unsettledIs(want) -> whether the owner's balances show exactly want
// ({payee: wei}) unsettled, and nothing for anyone else.
async function unsettledIs(want) {
  const r = await get(`/v1/creators/${fx.creator}/balances`, 'owner');
  if (r.status !== 200 || !r.json) return false;
  const have = Object.fromEntries(r.json.balances.filter((b) => b.unsettled_wei !== '0').map((b) => [b.payee, b.unsettled_wei]));
  return JSON.stringify(have, Object.keys(have).sort()) === JSON.stringify(want, Object.keys(want).sort());
}

// tipShares() -> {payee: wei} of one TIP_MIN_WEI tip under the walker's split (6500/3500 bps).
const tipShares = () => ({
  [fx.payees[0]]: (TIP_MIN_WEI * 6500n / 10000n).toString(),
  [fx.payees[1]]: (TIP_MIN_WEI * 3500n / 10000n).toString(),
});

// ---- the walk --------------------------------------------------------------------------
async function authAndBasics() {
  for (const service of ['gateway', 'settlement']) {
    const h = await call(service, 'GET /healthz', 'up', {}, 200);
    ok(h && h.json && h.json.status === 'ok', `${service}: /healthz says ok`, h && h.text);
    await call(service, 'GET /metrics', 'text', {}, 200);
    await call(service, 'GET /v1/auth/nonce', 'fresh nonce', {}, 200);
  }
  for (const role of ['owner', 'stranger', 'fan']) {
    who[role] = { wallet: ethers.Wallet.createRandom().connect(state.provider), token: null };
  }
  if (!await signIn('settlement', 'owner')) return false;
  if (!await signIn('gateway', 'stranger') || !await signIn('gateway', 'fan')) return false;
  for (const service of ['gateway', 'settlement']) {
    const siwe = 'POST /v1/auth/siwe';
    await call(service, 'GET /v1/auth/nonce', 'with a session too', { auth: 'owner' }, 200);
    await call(service, siwe, 'not JSON', { body: '{"message":' }, 400);
    await call(service, siwe, 'not an object', { body: '[]' }, 400);
    await call(service, siwe, 'empty object', { body: {} }, 422);
    await call(service, siwe, 'an unknown field', { body: { message: 'x', signature: '0x00', extra: 1 } }, 422);
    await call(service, siwe, 'a body above the 16 KiB limit', { body: { message: 'm'.repeat(17000), signature: '0x' } }, 413);
    await call(service, siwe, 'not an EIP-4361 message', { body: { message: 'hello', signature: `0x${'11'.repeat(65)}` } }, 400);
    // A real message for another domain, signed: parses, but is not for here.
    const n = await call(service, 'GET /v1/auth/nonce', 'for a foreign message', {}, 200);
    if (n && n.json) {
      const message = new SiweMessage({
        domain: 'example.org', address: who.fan.wallet.address, statement: 'Sign in.', uri: 'https://example.org',
        version: '1', chainId: Number(CHAIN_ID), nonce: n.json.nonce, issuedAt: new Date().toISOString(),
      }).prepareMessage();
      const signature = await who.fan.wallet.signMessage(message);
      await call(service, siwe, 'a signed message for another domain', { body: { message, signature } }, 401);
    }
  }
  return true;
}

async function settlementFixtures() {
  const s = 'settlement';
  const chain = await call(s, 'GET /v1/chain', 'summary', {}, 200);
  ok(chain && chain.json && chain.json.vault === fx.vault && chain.json.chain_id === Number(CHAIN_ID),
    'GET /v1/chain names the deployed vault and the chain', chain && chain.text);
  const key = `walker-${crypto.randomBytes(6).toString('hex')}`;
  const c = await call(s, 'POST /v1/creators', 'owner creates', {
    auth: 'owner', body: { name: 'OpenAPI walker' }, headers: { 'idempotency-key': key } }, 201);
  if (!c || c.status !== 201) return false;
  fx.creator = c.json.id;
  ok(c.json.owner === who.owner.wallet.address && c.json.creator_key === ethers.id(fx.creator),
    'the creator is owned by the signed-in address; creator_key = keccak256(id)', c.text);
  const replay = await call(s, 'POST /v1/creators', 'same Idempotency-Key, same body', {
    auth: 'owner', body: { name: 'OpenAPI walker' }, headers: { 'idempotency-key': key } }, 201);
  ok(replay && replay.headers.get('idempotent-replayed') === 'true' && replay.json.id === fx.creator,
    'the replay is the first answer, marked Idempotent-Replayed: true', replay && replay.text);
  await call(s, 'POST /v1/creators', 'same Idempotency-Key, another body', {
    auth: 'owner', body: { name: 'someone else' }, headers: { 'idempotency-key': key } }, 422);
  await call(s, 'POST /v1/creators', 'a malformed Idempotency-Key', {
    auth: 'owner', body: { name: 'x' }, headers: { 'idempotency-key': 'has space' } }, 400);
  await call(s, 'POST /v1/creators', 'a name above 200 bytes', { auth: 'owner', body: { name: 'n'.repeat(201) } }, 422);
  await call(s, 'POST /v1/creators', 'a body above the 1 KiB limit', {
    auth: 'owner', body: { name: 'n'.repeat(2000) } }, 413);
  const other = await call(s, 'POST /v1/creators', 'a second creator, never split', {
    auth: 'stranger', body: { name: 'stranger' } }, 201);
  fx.otherCreator = other && other.json ? other.json.id : null;

  await creatorsWalk();
  const id = { id: fx.creator };
  await call(s, 'GET /v1/creators/{id}', 'real id', { params: id }, 200);
  await call(s, 'GET /v1/creators/{id}', 'real id, with a session', { params: id, auth: 'stranger' }, 200);
  if (fx.otherCreator) await call(s, 'GET /v1/creators/{id}/splits', 'no split yet', { params: { id: fx.otherCreator } }, 404);
  const payees = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address];
  fx.payees = payees; // 6500 and 3500 bps
  const shares = [{ payee: payees[0], role: 'composer', bps: 6500 }, { payee: payees[1].toLowerCase(), role: 'performer', bps: 3500 }];
  const split = await call(s, 'PUT /v1/creators/{id}/splits', 'owner writes version 1', {
    params: id, auth: 'owner', body: { shares }, headers: { 'idempotency-key': `${key}-split` } }, 201);
  ok(split && split.json && split.json.version === 1 && split.json.shares[1].payee === payees[1],
    'version 1 with the payees checksummed, largest bps first', split && split.text);
  await call(s, 'PUT /v1/creators/{id}/splits', 'not the owner', { params: id, auth: 'stranger', body: { shares } }, 403);
  await call(s, 'PUT /v1/creators/{id}/splits', 'bps summing to 9999', {
    params: id, auth: 'owner', body: { shares: [{ payee: payees[0], role: 'a', bps: 9999 }] } }, 422);
  await call(s, 'PUT /v1/creators/{id}/splits', 'a body above the 32 KiB limit', {
    params: id, auth: 'owner', body: { shares: [{ payee: payees[0], role: 'r'.repeat(40000), bps: 10000 }] } }, 413);
  await call(s, 'GET /v1/creators/{id}/splits', 'current version', { params: id }, 200);
  await call(s, 'GET /v1/creators/{id}/splits/history', 'all versions', { params: id }, 200);

  const passBody = { name: 'Walker pass', symbol: 'WALK', price_wei: PASS_PRICE_WEI.toString(), max_supply: '100', royalty_bps: 500 };
  const pass = await call(s, 'POST /v1/creators/{id}/passes', 'owner deploys a pass', {
    params: id, auth: 'owner', body: passBody, headers: { 'idempotency-key': `${key}-pass` } }, 201);
  fx.pass = pass && pass.status === 201 && pass.json ? pass.json.contract : null;
  await call(s, 'POST /v1/creators/{id}/passes', 'not the owner', { params: id, auth: 'stranger', body: passBody }, 403);
  await call(s, 'POST /v1/creators/{id}/passes', 'a price of 0', {
    params: id, auth: 'owner', body: { ...passBody, price_wei: '0' } }, 422);
  await call(s, 'POST /v1/creators/{id}/passes', 'a body above the 2 KiB limit', {
    params: id, auth: 'owner', body: { ...passBody, name: 'n'.repeat(3000) } }, 413);
  if (fx.pass) {
    const deadline = Date.now() + e2e.CMD_TIMEOUT_MS;
    while ((await state.provider.getCode(fx.pass)) === '0x' && Date.now() < deadline) await e2e.sleep(250);
    ok((await state.provider.getCode(fx.pass)) !== '0x', `the pass ${fx.pass} is deployed`);
  }

  const access = { passes: fx.pass ? [{ contract: fx.pass, min_balance: '1' }] : [], tip_min_wei: TIP_MIN_WEI.toString() };
  const st = await call(s, 'POST /v1/creators/{id}/streams', 'owner creates stream A', {
    params: id, auth: 'owner', body: { title: 'walker A', access }, headers: { 'idempotency-key': `${key}-stream` } }, 201);
  if (!st || st.status !== 201) return false;
  fx.stream = st.json.id;
  fx.ingestKey = st.json.ingest_key;
  ok(st.json.stream_key === ethers.id(fx.stream), 'stream_key = keccak256(stream id)', st.text);
  const stB = await call(s, 'POST /v1/creators/{id}/streams', 'owner creates stream B (tips only)', {
    params: id, auth: 'owner', body: { title: 'walker B', access: { tip_min_wei: null } } }, 201);
  fx.streamB = stB && stB.json ? stB.json.id : null;
  await call(s, 'POST /v1/creators/{id}/streams', 'not the owner', {
    params: id, auth: 'stranger', body: { title: 'x', access } }, 403);
  await call(s, 'POST /v1/creators/{id}/streams', 'a pass not registered to the creator', {
    params: id, auth: 'owner', body: { title: 'x', access: { passes: [{ contract: payees[0], min_balance: '1' }] } } }, 422);
  await call(s, 'POST /v1/creators/{id}/streams', 'a body above the 8 KiB limit', {
    params: id, auth: 'owner', body: { title: 't'.repeat(9000), access: {} } }, 413);
  await call(s, 'POST /v1/creators/{id}/streams', 'tip_min_wei of 0', {
    params: id, auth: 'owner', body: { title: 'x', access: { tip_min_wei: '0' } } }, 422);
  return true;
}

// creatorsWalk(): GET /v1/creators page by page (one creator a page), then
// in one page: the same creators, each once, in id order, with their
// fields; and its refusals.
async function creatorsWalk() {
  const s = 'settlement';
  const list = 'GET /v1/creators';
  const made = [fx.creator, fx.otherCreator].filter(Boolean);
  const walked = [];
  let cursor = null;
  let pages = 0;
  let full = true;
  for (; pages < 10; pages++) {
    const query = cursor === null ? { limit: '1' } : { limit: '1', cursor };
    const r = await call(s, list, `limit=1, page ${pages + 1}`, { query }, 200);
    if (!r || !r.json) break;
    walked.push(...r.json.creators);
    cursor = r.json.next_cursor;
    if (cursor === null) break;
    full = full && r.json.creators.length === 1 && cursor === r.json.creators[0].id;
  }
  const all = await call(s, list, 'limit=500: every creator in one page', { query: { limit: '500' } }, 200);
  const ids = all && all.json ? all.json.creators.map((c) => c.id) : [];
  ok(all && all.json && all.json.next_cursor === null && made.length === 2 &&
    made.every((x) => ids.filter((y) => y === x).length === 1) &&
    ids.every((x, i) => i === 0 || ids[i - 1] < x),
  'the list holds both creators made here, each once, by id; the page is the last', all && all.text);
  ok(full && walked.length === ids.length && pages + 1 === ids.length &&
    JSON.stringify(walked) === JSON.stringify(all && all.json ? all.json.creators : null),
  'a walk one creator a page returns the same creators as the single page, each page full until the last',
  JSON.stringify(walked));
  const mine = all && all.json ? all.json.creators.find((c) => c.id === fx.creator) : null;
  ok(mine && mine.owner === who.owner.wallet.address && mine.creator_key === ethers.id(fx.creator) &&
    mine.name === 'OpenAPI walker' && typeof mine.created_at === 'string',
  'the walker\'s creator is listed with its owner, creator_key = keccak256(id), name and created_at', JSON.stringify(mine));
  await call(s, list, 'no parameters (limit 100)', {}, 200);
  await call(s, list, 'with a session (public anyway)', { auth: 'stranger' }, 200);
  await call(s, list, 'empty cursor and limit (absent)', { query: { cursor: '', limit: '' } }, 200);
  const past = await call(s, list, 'a cursor after every id', { query: { cursor: 'ffffffff-ffff-ffff-ffff-ffffffffffff' } }, 200);
  ok(past && past.json && past.json.creators.length === 0 && past.json.next_cursor === null,
    'a cursor after every id gives an empty last page', past && past.text);
  await call(s, list, 'limit=501', { query: { limit: '501' } }, 400);
  await call(s, list, 'limit=0', { query: { limit: '0' } }, 400);
  await call(s, list, 'limit=abc', { query: { limit: 'abc' } }, 400);
  await call(s, list, 'a cursor that is not one', { query: { cursor: 'zz' } }, 400);
  await call(s, list, 'an uppercase UUID cursor', { query: { cursor: made.length ? made[0].toUpperCase() : 'X' } }, 400);
}

async function gatewayWalk() {
  const g = 'gateway';
  const A = { id: fx.stream };
  const info = await call(g, 'GET /v1/streams/{id}', 'stream A', { params: A }, 200);
  ok(info && info.json && info.json.creator_id === fx.creator && info.json.access.vault === fx.vault &&
    info.json.access.tip_min_wei === TIP_MIN_WEI.toString() &&
    info.json.access.passes.length === (fx.pass ? 1 : 0), 'the gateway serves stream A as the settlement API made it',
  info && info.text);

  // Ingest: the key check, a segment, its media playlist, the master.
  const key = `key:${fx.ingestKey}`;
  const wrong = `key:${'0'.repeat(64)}`;
  await call(g, 'GET /ingest/{id}', 'the ingest key', { params: A, auth: key }, 204);
  await call(g, 'GET /ingest/{id}', 'a wrong key', { params: A, auth: wrong }, 401);
  await call(g, 'GET /ingest/{id}', 'an unknown stream', { params: { id: UNKNOWN_ID }, auth: key }, 404);
  const seg0 = await segment('seg0.ts', 1);
  const seg1 = await segment('seg1.ts', 2);
  if (!seg0 || !seg1) return;
  fx.seg0 = seg0;
  const media = { id: fx.stream, rendition: '0', file: 'index0.ts' };
  const ts = 'video/mp2t';
  const put = 'PUT /ingest/{id}/{rendition}/{file}';
  await call(g, put, 'a new segment', { params: media, auth: key, body: seg0, type: ts }, 201);
  await call(g, put, 'the same segment again', { params: media, auth: key, body: seg0, type: ts }, 204);
  await call(g, put, 'other bytes at a recorded place', { params: media, auth: key, body: seg1, type: ts }, 409);
  await call(g, put, 'not media', { params: { ...media, file: 'index1.ts' }, auth: key, body: Buffer.from('not a segment'), type: ts }, 400);
  await call(g, put, 'a name outside the allow-list', { params: { ...media, file: 'index1.exe' }, auth: key, body: seg0, type: ts }, 400);
  const m3u8 = M3U8;
  await call(g, put, 'the media playlist', { params: { ...media, file: 'index.m3u8' }, auth: key, body: MEDIA_PLAYLIST, type: m3u8 }, 201);
  await call(g, put, 'a playlist that is not M3U', { params: { ...media, file: 'index.m3u8' }, auth: key, body: 'hello', type: m3u8 }, 400);
  const master = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=64x48\n0/index.m3u8\n';
  await call(g, 'PUT /ingest/{id}/master.m3u8', 'the master playlist', { params: A, auth: key, body: master, type: m3u8 }, 201);
  await call(g, 'PUT /ingest/{id}/master.m3u8', 'the same master again', { params: A, auth: key, body: master, type: m3u8 }, 204);
  await call(g, 'PUT /ingest/{id}/master.m3u8', 'other renditions than the recording\'s', {
    params: A, auth: key, body: master.replace('0/index.m3u8', '1/index.m3u8'), type: m3u8 }, 409);
  await call(g, 'PUT /ingest/{id}/master.m3u8', 'a wrong key', { params: A, auth: wrong, body: master, type: m3u8 }, 401);
  await call(g, 'PUT /ingest/{id}/master.m3u8', 'not a playlist', { params: A, auth: key, body: 'hello', type: m3u8 }, 400);

  // Access: the owner's settlement session works here; a stranger is 402.
  const acc = await call(g, 'GET /v1/streams/{id}/access', 'the owner (session from the settlement service)', {
    params: A, auth: 'owner' }, 200);
  ok(acc && acc.json && acc.json.via === 'owner', 'the owner is allowed as the owner', acc && acc.text);
  const den = await call(g, 'GET /v1/streams/{id}/access', 'a stranger', { params: A, auth: 'stranger' }, 402);
  ok(den && den.json && den.json.requirements && den.json.requirements.stream_key === ethers.id(fx.stream),
    'the 402 names what unlocks the stream', den && den.text);

  // Tips: a real tip, a transaction without one, one never sent.
  const funder = new ethers.Wallet(FUNDER_KEY, state.provider);
  const funded = await e2e.fund(funder, [who.fan.wallet.address], FAN_FUNDS_WEI);
  if (!ok(funded !== null, 'the fan is funded')) return;
  const tip = await fanTips(fx.stream);
  const tips = 'POST /v1/streams/{id}/tips';
  const credited = await call(g, tips, 'the fan\'s tip', { params: A, auth: 'fan', body: { tx_hash: tip.hash } }, 200);
  ok(credited && credited.json && credited.json.allowed === true && credited.json.total_wei === TIP_MIN_WEI.toString(),
    'the tip is credited and unlocks the stream', credited && credited.text);
  await call(g, tips, 'a transaction that is not mined', {
    params: A, auth: 'fan', body: { tx_hash: `0x${crypto.randomBytes(32).toString('hex')}` } }, 409);
  await call(g, tips, 'a transaction without a tip (the funding)', { params: A, auth: 'fan', body: { tx_hash: funded[0].hash } }, 422);
  await call(g, tips, 'a body above the 1 KiB limit', { params: A, auth: 'fan', body: { tx_hash: `0x${'a'.repeat(2000)}` } }, 413);

  // HLS: sessions and playback tokens, ranges, refusals.
  const mp = 'GET /hls/{id}/master.m3u8';
  const hm = 'GET /hls/{id}/{rendition}/{file}';
  const token = acc && acc.json ? new URL(acc.json.playback_url, svc.gateway.url).searchParams.get('token') : null;
  await call(g, mp, 'the owner\'s session', { params: A, auth: 'owner' }, 200);
  const pl = await call(g, mp, 'a playback token', { params: A, query: { token } }, 200);
  await call(g, mp, 'nothing', { params: A }, 401);
  await call(g, mp, 'a stranger\'s session', { params: A, auth: 'stranger' }, 402);
  await call(g, mp, 'an unknown stream', { params: { id: UNKNOWN_ID }, auth: 'owner' }, 404);
  if (fx.streamB) {
    const accB = await call(g, 'GET /v1/streams/{id}/access', 'the owner, stream B', { params: { id: fx.streamB }, auth: 'owner' }, 200);
    fx.tokenB = accB && accB.json ? new URL(accB.json.playback_url, svc.gateway.url).searchParams.get('token') : null;
    await call(g, mp, 'a playback token of stream B', { params: A, query: { token: fx.tokenB || 'x' } }, 403);
  }
  const mediaUri = pl && pl.status === 200 ? pl.text.split('\n').find((l) => l && !l.startsWith('#')) : null;
  const mediaToken = mediaUri ? new URL(mediaUri, 'http://x/').searchParams.get('token') : token;
  const mediaPlAnswer = await call(g, hm, 'the media playlist, token from the master', {
    params: { ...media, file: 'index.m3u8' }, query: { token: mediaToken } }, 200);
  const segUri = mediaPlAnswer && mediaPlAnswer.status === 200
    ? mediaPlAnswer.text.split('\n').find((l) => l && !l.startsWith('#')) : null;
  const segToken = segUri ? new URL(segUri, 'http://x/').searchParams.get('token') : token;
  const segAnswer = await call(g, hm, 'the segment, token from the media playlist', { params: media, query: { token: segToken } }, 200);
  ok(segAnswer && segAnswer.bytes.equals(seg0), 'the segment served is the one ingested', segAnswer && segAnswer.bytes.length);
  await call(g, hm, 'the first 10 bytes', { params: media, query: { token: segToken }, headers: { range: 'bytes=0-9' } }, 206);
  await call(g, hm, 'a range past the end', { params: media, query: { token: segToken }, headers: { range: 'bytes=99999999-' } }, 416);
  await call(g, hm, 'no token', { params: media }, 401);
  await call(g, hm, 'the media playlist, a stranger\'s session', { params: { ...media, file: 'index.m3u8' }, auth: 'stranger' }, 402);
  if (fx.tokenB) await call(g, hm, 'the segment, a playback token of stream B', { params: media, query: { token: fx.tokenB } }, 403);
  await call(g, hm, 'a segment not stored', { params: { ...media, file: 'index7.ts' }, query: { token: segToken } }, 404);
  await call(g, hm, 'a name outside the allow-list', { params: { ...media, file: 'index0.exe' }, query: { token: segToken } }, 400);

  // The fan page.
  await call(g, 'GET /', 'the index page', {}, 200);
  await call(g, 'GET /', 'a byte range', { headers: { range: 'bytes=0-15' } }, 206);
  await call(g, 'GET /', 'a range past the end', { headers: { range: 'bytes=99999999-' } }, 416);
  await call(g, 'GET /watch/{id}', 'stream A', { params: A }, 200);
  await call(g, 'GET /watch/{id}', 'a byte range', { params: A, headers: { range: 'bytes=0-15' } }, 206);
  await call(g, 'GET /watch/{id}', 'a range past the end', { params: A, headers: { range: 'bytes=99999999-' } }, 416);
  await call(g, 'GET /static/{file}', 'app.js', { params: { file: 'app.js' } }, 200);
  await call(g, 'GET /static/{file}', 'a byte range', { params: { file: 'app.js' }, headers: { range: 'bytes=-10' } }, 206);
  await call(g, 'GET /static/{file}', 'a range past the end', { params: { file: 'app.js' }, headers: { range: 'bytes=99999999-' } }, 416);
  await call(g, 'GET /static/{file}', 'style.css', { params: { file: 'style.css' } }, 200);
  await call(g, 'GET /static/{file}', 'a file not there', { params: { file: 'nothing.js' } }, 404);
  await call(g, 'GET /static/{file}', 'a name outside the allow-list', { params: { file: 'app.exe' } }, 404);
  const vendored = fs.existsSync(path.join(ROOT, 'services/gateway/web/node_modules/hls.js/dist/hls.min.js'));
  await call(g, 'GET /static/vendor/hls.min.js', 'hls.js', {}, vendored ? 200 : 404);
  if (vendored) await call(g, 'GET /static/vendor/hls.min.js', 'a byte range', { headers: { range: 'bytes=0-0' } }, 206);
}

async function revenueWalk() {
  const s = 'settlement';
  const id = { id: fx.creator };
  const rev = 'GET /v1/creators/{id}/revenue';
  // The tip above becomes confirmed revenue once the indexer has seen
  // CONFIRMATIONS blocks on top of it (the walker mines them).
  await until('the tip becomes confirmed revenue, split 6500/3500 into unsettled balances', () => unsettledIs(tipShares()));
  const first = await call(s, rev, 'the owner, first page', { params: id, auth: 'owner' }, 200);
  const ev = first && first.json ? first.json.events : [];
  ok(ev.length === 1 && ev[0].kind === 'tip' && ev[0].status === 'confirmed' && ev[0].split_version === 1 &&
    ev[0].amount_wei === TIP_MIN_WEI.toString() && ev[0].payer === who.fan.wallet.address && ev[0].source === null,
  'the revenue is the fan\'s tip, confirmed and split by version 1', first && first.text);
  const page = await call(s, rev, 'limit=1', { params: id, auth: 'owner', query: { limit: '1' } }, 200);
  if (page && page.json && page.json.next_cursor) {
    await call(s, rev, 'the next page', { params: id, auth: 'owner', query: { limit: '1', cursor: page.json.next_cursor } }, 200);
  }
  console.log(`# revenue events of the walker's creator: ${first && first.json ? first.json.events.length : '?'}`);
  await call(s, rev, 'empty cursor and limit (absent)', { params: id, auth: 'owner', query: { cursor: '', limit: '' } }, 200);
  await call(s, rev, 'limit=501', { params: id, auth: 'owner', query: { limit: '501' } }, 400);
  await call(s, rev, 'limit=0', { params: id, auth: 'owner', query: { limit: '0' } }, 400);
  await call(s, rev, 'a cursor that is not one', { params: id, auth: 'owner', query: { cursor: 'zz' } }, 400);
  await call(s, rev, 'not the owner', { params: id, auth: 'stranger' }, 403);
  const bal = await call(s, 'GET /v1/creators/{id}/balances', 'the owner', { params: id, auth: 'owner' }, 200);
  ok(bal && bal.json && bal.json.creator_id === fx.creator && bal.json.balances.length >= 2,
    'the balances list the current split\'s payees', bal && bal.text);
  await call(s, 'GET /v1/creators/{id}/balances', 'not the owner', { params: id, auth: 'stranger' }, 403);
}

// expectedLeaves(shares) -> [{payee, amount_wei, claimed: false}] ordered by payee address, as the API lists them.
const expectedLeaves = (shares) => Object.entries(shares)
  .sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
  .map(([payee, amount]) => ({ payee, amount_wei: amount, claimed: false }));

// settle(name, key) -> the id of a new batch of the owner's creator, or null.
async function settle(name, key) {
  const created = await call('settlement', 'POST /v1/creators/{id}/settlements', name, {
    params: { id: fx.creator }, auth: 'owner', body: {}, headers: { 'idempotency-key': key } }, 202);
  if (!created || created.status !== 202 || !created.json) return null;
  ok(created.json.batch_key === ethers.id(created.json.id) && created.json.status === 'pending',
    'the new batch is pending; batch_key = keccak256(id)', created.text);
  return created.json.id;
}

async function settlementWalk() {
  const s = 'settlement';
  const id = { id: fx.creator };
  const post = 'POST /v1/creators/{id}/settlements';
  const list = 'GET /v1/creators/{id}/settlements';
  const one = 'GET /v1/settlements/{id}';
  const proof = 'GET /v1/settlements/{id}/proofs/{payee}';
  const none = await call(s, list, 'no batch yet', { params: id }, 200);
  ok(none && none.json && none.json.creator_id === fx.creator && none.json.settlements.length === 0 &&
    none.json.next_cursor === null, 'no batch is listed before the first', none && none.text);
  if (fx.otherCreator) {
    await call(s, post, 'a creator without revenue: nothing to settle', { params: { id: fx.otherCreator }, auth: 'stranger' }, 409);
  }
  await call(s, post, 'not the owner', { params: id, auth: 'stranger', body: {} }, 403);
  await call(s, post, 'a body with a field', { params: id, auth: 'owner', body: { payees: [] } }, 422);
  await call(s, post, 'a body above the 64-byte limit', { params: id, auth: 'owner', body: { pad: 'p'.repeat(100) } }, 413);
  const shares = tipShares();
  ok(await unsettledIs(shares), 'nothing refused above changed the unsettled balances');

  // Batch 1: the first tip.
  const key = `walker-settle-${crypto.randomBytes(6).toString('hex')}`;
  fx.settlement = await settle('the owner settles the confirmed tip', key);
  if (!fx.settlement) return;
  const replay = await call(s, post, 'same Idempotency-Key, same body', {
    params: id, auth: 'owner', body: {}, headers: { 'idempotency-key': key } }, 202);
  ok(replay && replay.headers.get('idempotent-replayed') === 'true' && replay.json && replay.json.id === fx.settlement,
    'the replay is the first answer, marked Idempotent-Replayed: true', replay && replay.text);
  await call(s, post, 'same Idempotency-Key, no body', { params: id, auth: 'owner', headers: { 'idempotency-key': key } }, 422);
  await call(s, post, 'nothing left to settle (no body)', { params: id, auth: 'owner' }, 409);
  ok(await unsettledIs({}), 'the batch settled every unsettled balance');

  const anchored = await until('the batch is listed, and the service anchors it on chain by itself', async () => {
    const l = await get(`/v1/creators/${fx.creator}/settlements`);
    if (l.status !== 200 || !l.json || !l.json.settlements.some((b) => b.id === fx.settlement)) return null;
    const b = await get(`/v1/settlements/${fx.settlement}`);
    return b.status === 200 && b.json && ['anchored', 'claimable'].includes(b.json.status) ? b.json : null;
  });
  if (!anchored) return;
  const got = await call(s, one, 'an anchored batch', { params: { id: fx.settlement } }, 200);
  const b = got && got.json;
  const leaves = expectedLeaves(shares);
  const tree = StandardMerkleTree.of(leaves.map((l) => [l.payee, l.amount_wei]), SETTLEMENT_LEAF_TYPES);
  ok(b && b.id === fx.settlement && b.creator_id === fx.creator && b.batch_key === ethers.id(fx.settlement) &&
    b.total_wei === TIP_MIN_WEI.toString() && JSON.stringify(b.leaves) === JSON.stringify(leaves) &&
    b.merkle_root === tree.root && /^0x[0-9a-f]{64}$/.test(b.tx_hash || '') && Number.isInteger(b.block_number) &&
    Number.isInteger(b.claimable_at), 'the batch: the payees\' shares by address, their StandardMerkleTree root, '
    + 'the total, the anchoring transaction, block and claimable_at', got && got.text);
  const vault = new ethers.Contract(fx.vault, VAULT_ABI, state.provider);
  const onchain = b ? await vault.settlementRoot(b.batch_key) : null;
  ok(b && onchain === b.merkle_root, 'the vault holds the batch\'s root: settlementRoot(batch_key) = merkle_root', onchain);
  const receipt = b && b.tx_hash ? await state.provider.getTransactionReceipt(b.tx_hash) : null;
  ok(receipt && receipt.status === 1 && receipt.blockNumber === b.block_number,
    'the settle transaction succeeded in the batch\'s block_number', JSON.stringify(receipt && receipt.blockNumber));
  await call(s, one, 'the same batch, with a session', { params: { id: fx.settlement }, auth: 'stranger' }, 200);

  // Proofs: every leaf's verifies against the root; others are refused.
  for (const l of leaves) {
    for (const [how, payee] of [['EIP-55', l.payee], ['lowercase', l.payee.toLowerCase()]]) {
      const p = await call(s, proof, `a payee of the batch (${how})`, { params: { id: fx.settlement, payee } }, 200);
      const j = p && p.json;
      ok(j && j.payee === l.payee && j.amount_wei === l.amount_wei && b && j.root === b.merkle_root &&
        StandardMerkleTree.verify(j.root, SETTLEMENT_LEAF_TYPES, [j.payee, j.amount_wei], j.proof),
      `the proof of ${l.payee} (${how}) verifies against the root (OpenZeppelin StandardMerkleTree.verify)`, p && p.text);
    }
  }
  await call(s, proof, 'a payee not in the batch', { params: { id: fx.settlement, payee: who.fan.wallet.address } }, 404);
  await call(s, proof, 'a payee that is not an address', { params: { id: fx.settlement, payee: '0x1234' } }, 400);
  const badSum = fx.payees[0].replace(/[a-f]/, (c) => c.toUpperCase());
  if (badSum !== fx.payees[0]) {
    await call(s, proof, 'a mixed-case payee that is not the checksum', { params: { id: fx.settlement, payee: badSum } }, 400);
  }
  await call(s, proof, 'an unknown batch, a real payee', { params: { id: UNKNOWN_ID, payee: fx.payees[0] } }, 404);

  // Batch 2 (a second tip), for the list's pages and a batch not yet anchored.
  await fanTips(fx.stream);
  await until('the second tip becomes confirmed unsettled revenue', () => unsettledIs(shares));
  fx.settlement2 = await settle('the owner settles the second tip', `${key}-2`);
  if (fx.settlement2) {
    const fresh = await call(s, one, 'a batch just made', { params: { id: fx.settlement2 } }, 200);
    ok(fresh && fresh.json && ['pending', 'submitted', 'anchored', 'claimable'].includes(fresh.json.status) &&
      fresh.json.total_wei === TIP_MIN_WEI.toString() && fresh.json.leaves.length === 2,
    'the second batch holds the second tip\'s shares', fresh && fresh.text);
  }
  const all = await call(s, list, 'every batch', { params: id }, 200);
  const ids = all && all.json ? all.json.settlements.map((x) => x.id) : [];
  ok(JSON.stringify(ids) === JSON.stringify([fx.settlement2, fx.settlement]) && all.json.next_cursor === null &&
    all.json.settlements.every((x) => x.leaf_count === 2 && x.creator_id === fx.creator),
  'both batches are listed, newest first, with their leaf_count', all && all.text);
  const p1 = await call(s, list, 'limit=1', { params: id, query: { limit: '1' } }, 200);
  const cursor = p1 && p1.json ? p1.json.next_cursor : null;
  ok(p1 && p1.json && p1.json.settlements.length === 1 && p1.json.settlements[0].id === fx.settlement2 && cursor !== null,
    'the first page of one holds the newest batch and a next_cursor', p1 && p1.text);
  const p2 = await call(s, list, 'the next page', { params: id, query: { limit: '1', cursor: cursor || '1' } }, 200);
  ok(p2 && p2.json && p2.json.settlements.length === 1 && p2.json.settlements[0].id === fx.settlement &&
    p2.json.next_cursor === null, 'the next page holds the older batch and is the last', p2 && p2.text);
  await call(s, list, 'with a session (public anyway)', { params: id, auth: 'stranger' }, 200);
  await call(s, list, 'empty cursor and limit (absent)', { params: id, query: { cursor: '', limit: '' } }, 200);
  await call(s, list, 'limit=501', { params: id, query: { limit: '501' } }, 400);
  await call(s, list, 'limit=0', { params: id, query: { limit: '0' } }, 400);
  await call(s, list, 'a cursor that is not one', { params: id, query: { cursor: 'zz' } }, 400);
  await call(s, list, 'cursor=0', { params: id, query: { cursor: '0' } }, 400);
}

async function recordingWalk() {
  const s = 'settlement';
  const A = { stream_id: fx.stream };
  const rec = 'GET /v1/recordings/{stream_id}';
  const evidence = 'GET /v1/recordings/{stream_id}/evidence';
  const before = await call(s, rec, 'stream A, still recording', { params: A }, 200);
  ok(before && before.json && before.json.status === 'recording' && before.json.segment_count === 1 &&
    before.json.stream_key === ethers.id(fx.stream) && before.json.merkle_root === null &&
    before.json.anchor_status === null && before.json.tx_hash === null,
  'a recording in progress: one segment, no anchor', before && before.text);
  await call(s, evidence, 'stream A, not anchored yet', { params: A }, 404);
  if (fx.streamB) {
    await call(s, rec, 'stream B, which never recorded', { params: { stream_id: fx.streamB } }, 404);
    await call(s, evidence, 'stream B, which never recorded', { params: { stream_id: fx.streamB } }, 404);
  }
  // The end, as ffmpeg sends it: the media playlist again, with #EXT-X-ENDLIST.
  await call('gateway', 'PUT /ingest/{id}/{rendition}/{file}', 'the media playlist with #EXT-X-ENDLIST (the end)', {
    params: { id: fx.stream, rendition: '0', file: 'index.m3u8' }, auth: `key:${fx.ingestKey}`,
    body: `${MEDIA_PLAYLIST}#EXT-X-ENDLIST\n`, type: M3U8 }, 204);
  const done = await until('the recording ends and the service anchors it on chain by itself', async () => {
    const r = await get(`/v1/recordings/${fx.stream}`);
    return r.status === 200 && r.json && r.json.status === 'anchored' ? r.json : null;
  });
  if (!done) return;
  const sha = `0x${crypto.createHash('sha256').update(fx.seg0).digest('hex')}`;
  const root = StandardMerkleTree.of([['0', '0', sha]], RECORDING_LEAF_TYPES).root;
  const r = await call(s, rec, 'stream A, anchored', { params: A }, 200);
  const j = r && r.json;
  ok(j && j.anchor_status === 'anchored' && j.segment_count === 1 && j.merkle_root === root &&
    /^0x[0-9a-f]{64}$/.test(j.tx_hash || '') && Number.isInteger(j.block_number),
  'the anchored root is the StandardMerkleTree of (0, 0, sha256 of the ingested segment)', r && r.text);
  const ev = await call(s, evidence, 'stream A, anchored', { params: A }, 200);
  const e = ev && ev.json;
  ok(ev && ev.headers.get('cache-control') === 'public, max-age=3600', 'the evidence may be cached (it never changes)',
    ev && ev.headers.get('cache-control'));
  ok(e && j && e.root === root && e.tx_hash === j.tx_hash && e.block_number === j.block_number &&
    e.chain_id === Number(CHAIN_ID) && e.vault === fx.vault && e.stream_id === fx.stream &&
    e.stream_key === ethers.id(fx.stream) && JSON.stringify(e.renditions) === '["0"]' &&
    JSON.stringify(e.leaves) === JSON.stringify([[0, 0, sha]]) &&
    JSON.stringify(e.segments) === JSON.stringify([{ rendition: 0, sequence: 0, name: 'index0.ts', bytes: fx.seg0.length }]),
  'the evidence: chain, vault, stream, root, anchor, renditions, the leaf and its segment file', ev && ev.text.slice(0, 2000));
  let loaded = null;
  try { loaded = e ? StandardMerkleTree.load(e.tree) : null; } catch (err) { ok(false, 'StandardMerkleTree.load', err.message); }
  ok(loaded && loaded.root === root, 'StandardMerkleTree.load(evidence.tree) accepts the dump as is; its root is the anchored one',
    loaded && loaded.root);
  const onchain = await new ethers.Contract(fx.vault, VAULT_ABI, state.provider).recordingRoot(ethers.id(fx.stream));
  ok(onchain === root, 'the vault holds it: recordingRoot(stream_key) = merkle_root', onchain);
}

// ---- generic cases, derived from the description -----------------------------------------
const hasSecurity = (o) => (o.op.security || spec.security || []).some((req) => Object.keys(req).length > 0);
const schemes = (o) => (o.op.security || spec.security || []).flatMap((req) => Object.keys(req));
const isJsonWrite = (o) => o.op.requestBody && o.op.requestBody.content && o.op.requestBody.content['application/json'];
// idParam(o) -> the name of the operation's id parameter ({id} or {stream_id}), or null.
const idParam = (o) => (/\{id\}/.test(o.path) ? 'id' : /\{stream_id\}/.test(o.path) ? 'stream_id' : null);
// A malformed id is 400 where the path is not a creator's or a stream's
// resource (a media path, a settlement, a recording); elsewhere 404.
const malformedIdStatus = (o) => (/^\/(hls|v1\/settlements|v1\/recordings)\//.test(o.path) ? 400 : 404);

// realParams(o) -> values for the operation's path parameters.
function realParams(o) {
  const byPrefix = o.path.startsWith('/v1/creators') ? fx.creator
    : o.path.startsWith('/v1/settlements') ? fx.settlement || UNKNOWN_ID : fx.stream;
  const values = { id: byPrefix, stream_id: fx.stream, payee: fx.payees ? fx.payees[0] : who.fan.wallet.address,
    rendition: '0', file: o.path.startsWith('/static') ? 'app.js' : 'index0.ts' };
  const out = {};
  for (const m of o.path.matchAll(/\{([a-z_]+)\}/g)) out[m[1]] = values[m[1]];
  return out;
}

// authFor(o) -> the credentials that pass the operation's first scheme.
function authFor(o) {
  const s = schemes(o);
  if (s.includes('session')) return 'owner';
  if (s.includes('ingestKey')) return `key:${fx.ingestKey}`;
  return null;
}

async function genericWalk() {
  const paths = new Map();
  for (const o of ops) {
    for (const service of o.services) {
      const params = realParams(o);
      const auth = authFor(o);
      await call(service, o.key, 'a URL above 4096 bytes', {
        params, auth, query: { pad: 'p'.repeat(LONG_QUERY_BYTES) } }, 414);
      if (hasSecurity(o) && !schemes(o).includes('playbackToken')) {
        await call(service, o.key, 'no credentials', { params, body: isJsonWrite(o) ? {} : undefined }, 401);
      }
      if (schemes(o).includes('session') && !schemes(o).includes('playbackToken')) {
        await call(service, o.key, 'a tampered session', { params, auth: 'tampered', body: isJsonWrite(o) ? {} : undefined }, 401);
      }
      const idName = idParam(o);
      if (idName && o.path !== '/hls/{id}/{rendition}/{file}') {
        const body = isJsonWrite(o) ? validBody(o) : undefined;
        await call(service, o.key, 'an id that is not a UUID', { params: { ...params, [idName]: MALFORMED_ID }, auth, body },
          malformedIdStatus(o));
        if (o.path !== '/watch/{id}') {
          await call(service, o.key, 'an unknown id', { params: { ...params, [idName]: UNKNOWN_ID }, auth, body }, 404);
        }
      }
      if (isJsonWrite(o)) {
        await call(service, o.key, 'a body that is not JSON', { params, auth, body: '{"x":' }, 400);
        await call(service, o.key, 'a body that is not an object', { params, auth, body: '[1]' }, 400);
        // {} is refused where the request schema refuses it (elsewhere the walk above sends it).
        if (check.requestBody(o, {}).length > 0) {
          await call(service, o.key, 'an empty object', { params, auth, body: {} }, 422);
        }
      }
      const pk = `${service} ${o.path}`;
      if (!paths.has(pk)) paths.set(pk, { service, o, methods: new Set() });
      paths.get(pk).methods.add(o.method);
    }
  }
  // An undocumented method on every documented path: 405, Allow = the documented ones.
  for (const { service, o, methods } of paths.values()) {
    if (methods.has(UNDOCUMENTED_METHOD)) continue;
    const url = `${svc[service].url}${fill(o.path, realParams(o))}`;
    const r = await e2e.http(url, { method: UNDOCUMENTED_METHOD }).catch((e) => ({ status: 0, text: e.message, headers: new Map() }));
    const allow = new Set(String(r.headers.get('allow') || '').split(',').map((m) => m.trim()).filter(Boolean));
    const want = new Set([...methods, ...(methods.has('GET') ? ['HEAD'] : [])]);
    const same = allow.size === want.size && [...want].every((m) => allow.has(m));
    const problems = r.status === 405 ? check.schema('/components/schemas/Problem', r.json) : [];
    ok(r.status === 405 && same && problems.length === 0,
      `${UNDOCUMENTED_METHOD} ${o.path} [${service}]: 405, Allow lists exactly the documented methods (${[...want].join(', ')})`,
      `${r.status} Allow: ${[...allow].join(', ')} ${problems.join('; ')} ${String(r.text).slice(0, 200)}`);
  }
}

// validBody(o) -> a request body that passes validation, for the unknown-id cases.
function validBody(o) {
  const bodies = {
    'PUT /v1/creators/{id}/splits': { shares: [{ payee: who.fan.wallet.address, role: 'all', bps: 10000 }] },
    'POST /v1/creators/{id}/passes': { name: 'p', symbol: 'P', price_wei: '1', max_supply: '1', royalty_bps: 0 },
    'POST /v1/creators/{id}/streams': { title: 't', access: { tip_min_wei: '1' } },
    'POST /v1/streams/{id}/tips': { tx_hash: `0x${'ab'.repeat(32)}` },
    'POST /v1/creators/{id}/settlements': {},
  };
  return bodies[o.key] || {};
}

// ---- coverage and the route tables ---------------------------------------------------------
function coverage() {
  const missing = [];
  for (const o of ops) {
    for (const service of o.services) {
      const k = `${o.key} [${service}]`;
      const seen = exercised.get(k);
      if (!seen) {
        missing.push(k);
        continue;
      }
      const documented = Object.keys(o.op.responses || {});
      const never = documented.filter((st) => !seen.has(Number(st)));
      if (never.length) console.log(`# ${k}: documented statuses no request produced: ${never.join(', ')}`);
    }
  }
  ok(missing.length === 0, `every documented operation (${ops.length}) was exercised on each of its services`, missing.join('\n'));
  const { unrouted, undocumented } = oa.compareRoutes(spec, oa.routeTables());
  ok(undocumented.length === 0, 'every row of the C route tables is documented', undocumented.join('\n'));
  ok(unrouted.length === 0, 'every documented operation is a row of its programs\' route tables', unrouted.join('\n'));
}

// ---- the test --------------------------------------------------------------------------------
async function main() {
  for (const v of ['DATABASE_URL', 'ETH_RPC_URL']) {
    if (!ok(Boolean(process.env[v]), `environment: ${v} is set`)) return;
  }
  if (!await startStack()) return;
  if (!await authAndBasics()) return;
  const made = await settlementFixtures();
  if (made) {
    await gatewayWalk();
    await revenueWalk();
    await settlementWalk();
    await recordingWalk();
    await genericWalk();
  }
  coverage();
}

async function cleanup() {
  for (const entry of state.entries) await e2e.stop(entry, 10000);
  if (tap.failed() > 0) {
    for (const [name, file] of Object.entries(state.logs)) {
      console.log(`# ${name} log (last 20 lines):`);
      console.log(e2e.tail(file, 20).split('\n').map((l) => `#   ${l}`).join('\n'));
    }
  }
  await e2e.teardown(state);
}

e2e.main(main, cleanup, { timeoutMs: TEST_TIMEOUT_MS, label: 'OpenAPI walk' });
