#!/usr/bin/env node
// test_gateway_e2e.js - the gateway end to end (issue "Done when"), against
// real PostgreSQL, anvil and ffmpeg, with ethers and siwe as the wallets:
//   * a fresh database (created through DATABASE_URL, dropped at the end),
//     migrated by `rightsctl migrate`; the vault deployed by `rightsctl deploy
//     --admin --guardian` (operator = anvil account 0); a creator, its
//     RightsPass and a stream (pass or tips >= 0.005 ETH) seeded by
//     services/stack/demo.js; the real gateway binary on a free port, with
//     its own MEDIA_DIR and AUTH_SECRET_FILE under TEST_TMPDIR;
//   * `rightsctl publish --input testsrc --ladder 480p,360p --duration 8`
//     pushes a stream while fan A buys a pass (mint{value: price}) and fan B
//     tips (vault.tip(creatorKey, streamKey), then POST /v1/streams/{id}/tips);
//   * A, B and C sign in (GET /v1/auth/nonce, SiweMessage from siwe signed by
//     an ethers Wallet, POST /v1/auth/siwe); A and B play: access ->
//     playback_url -> master -> media playlists -> every segment. Each
//     playlist equals the stored file under MEDIA_DIR byte for byte once the
//     ?token= query strings are removed; each segment equals the stored file
//     and the sha256 and size recorded in the segments table;
//   * C gets 402 with the requirements (access and playlist); the creator is
//     allowed as the owner;
//   * A transfers the pass to D (transferFrom): A's next playlist fetch (with
//     the still valid playback token of A's last playlist) is 402 within a
//     bounded wait, and D is allowed;
//   * then each browser test that drives a running gateway (the runner
//     passes them in E2E_BROWSER_TESTS: tests/browser/test_*.js that read
//     GATEWAY_URL; unset: the same rule here) runs against this gateway and
//     stream, its results counted here under "browser/<name>: ".
//
//   DATABASE_URL=... ETH_RPC_URL=... [CHAIN_ID=31337] [TEST_TMPDIR=...] [BUILD_DIR=build] \
//   NODE_PATH=.tools/node_modules node tests/e2e/test_gateway_e2e.js
//
// Every wait has a limit. Children (gateway, publish with its ffmpeg, browser
// tests with chromium) run in their own process groups and are stopped on
// every exit path, signals included. Prints "ok - ..." / "not ok - ..." lines
// and a closing "N passed, N failed"; exits 1 on any failure.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ethers = require('ethers');

const e2e = require('../lib/e2e.js');
const tap = require('../lib/tap.js');

const { ROOT, BIN, CHAIN_ID, OPERATOR_KEY, CMD_TIMEOUT_MS, http, bearer, run, start, stop, sleep, withTimeout, tail } = e2e;
const apiclient = require(path.join(ROOT, 'services/stack/apiclient.js'));
const demo = require(path.join(ROOT, 'services/stack/demo.js'));

// anvil's well-known dev keys (tests/lib/e2e.js: 0 = operator, 9 = admin
// and guardian); 5 = the browser tests' funder (FAN_KEY).
const BROWSER_FUNDER_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba';
const PRICE_WEI = ethers.parseEther('0.01');
const TIP_MIN_WEI = ethers.parseEther('0.005');
const FAN_FUNDS_WEI = ethers.parseEther('1');
const PUBLISH_DURATION_S = 8;

const TEST_TIMEOUT_MS = 540000; // under the runner's 600 s per program
const PUBLISH_DONE_MS = (PUBLISH_DURATION_S + 60) * 1000; // encoder start, realtime source, last uploads
const RECORDING_END_MS = 15000; // the gateway storing ffmpeg's last uploads after it exits
const REVOKE_WAIT_MS = 20000; // Transfer -> 402 (the follower polls every 0.5 s)
const BROWSER_TEST_MS = 300000;
const TOKEN_RE = /\?token=[A-Za-z0-9._~-]+/g;

const ok = tap.ok;

// browserTests() -> repo-relative paths: E2E_BROWSER_TESTS when set (the
// runner's list), else every tests/browser/test_*.js that reads GATEWAY_URL.
function browserTests() {
  if (process.env.E2E_BROWSER_TESTS !== undefined) {
    return process.env.E2E_BROWSER_TESTS.split(/\s+/).filter(Boolean);
  }
  const dir = path.join(ROOT, 'tests', 'browser');
  return fs.readdirSync(dir).filter((f) => /^test_.*\.js$/.test(f)).sort()
    .filter((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('GATEWAY_URL'))
    .map((f) => `tests/browser/${f}`);
}

// ---- the stack under test ----------------------------------------------------------
const state = {
  tmp: null,
  dbAdminUrl: null,
  dbName: null,
  gateway: null,
  publish: null,
  gatewayLog: null,
};

// signIn(gw, domain, wallet) -> {token, why}: SIWE as a wallet does.
const signIn = (gw, domain, wallet) => apiclient.signIn(gw, domain, wallet, CHAIN_ID);

// uris(text) -> every URI of a playlist: non-tag lines and URI="..." attributes.
function uris(text) {
  const out = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      for (const m of line.matchAll(/URI="([^"]*)"/g)) out.push(m[1]);
    } else {
      out.push(line);
    }
  }
  return out;
}

// recordedSegments(dbUrl, streamId) -> Map "rendition/name" -> {sha256, bytes}
async function recordedSegments(dbUrl, streamId) {
  const out = await demo.psql(dbUrl,
    "SELECT rendition, name, encode(sha256, 'hex'), bytes FROM segments WHERE stream_id = :'id'::uuid " +
    'ORDER BY rendition_index, media_sequence;\n', { id: streamId });
  const m = new Map();
  for (const line of out.split('\n').filter(Boolean)) {
    const [rendition, name, sha256, bytes] = line.split('|');
    m.set(`${rendition}/${name}`, { sha256, bytes: Number(bytes) });
  }
  return m;
}

// play(label, ctx, session, via): the whole playback path of one fan.
async function play(label, ctx, session, via) {
  const { gw, streamId, mediaDir, dbUrl } = ctx;
  const acc = await http(`${gw}/v1/streams/${streamId}/access`, { headers: bearer(session) });
  if (!ok(acc.status === 200 && acc.json && acc.json.allowed === true && acc.json.via === via &&
    typeof acc.json.playback_url === 'string', `${label}: access is 200 via ${via} with a playback URL`,
  `${acc.status} ${acc.text}`)) return;

  const masterUrl = new URL(acc.json.playback_url, gw);
  const master = await http(masterUrl);
  const storedMaster = fs.readFileSync(path.join(mediaDir, streamId, 'master.m3u8'));
  const masterUris = uris(master.text);
  ok(master.status === 200 && master.type.startsWith('application/vnd.apple.mpegurl') &&
    masterUris.length > 0 && masterUris.every((u) => /\?token=[A-Za-z0-9._~-]+$/.test(u)),
  `${label}: master playlist 200, every URI carries a playback token`, `${master.status} ${master.type}\n${master.text}`);
  ok(Buffer.from(master.text.replace(TOKEN_RE, '')).equals(storedMaster),
    `${label}: master playlist without ?token= is byte-identical to the stored file`,
    `served:\n${master.text}\nstored:\n${storedMaster}`);

  const recorded = await recordedSegments(dbUrl, streamId);
  const served = new Set();
  let segments = 0;
  let segmentsSame = 0;
  const diffs = [];
  for (const u of masterUris) {
    const mediaUrl = new URL(u, masterUrl);
    const rel = decodeURIComponent(mediaUrl.pathname.replace(`/hls/${streamId}/`, ''));
    const rendition = path.dirname(rel);
    const media = await http(mediaUrl);
    const stored = fs.readFileSync(path.join(mediaDir, streamId, rel));
    const segUris = uris(media.text);
    ok(media.status === 200 && media.type.startsWith('application/vnd.apple.mpegurl') &&
      segUris.length > 0 && segUris.every((s) => /\?token=[A-Za-z0-9._~-]+$/.test(s)),
    `${label}: media playlist ${rel} 200, every segment URI carries a playback token`, `${media.status}\n${media.text}`);
    ok(Buffer.from(media.text.replace(TOKEN_RE, '')).equals(stored) && media.text.includes('#EXT-X-ENDLIST'),
      `${label}: media playlist ${rel} without ?token= is byte-identical to the stored (ended) file`,
      `served:\n${media.text}\nstored:\n${stored}`);
    for (const s of segUris) {
      const segUrl = new URL(s, mediaUrl);
      const segRel = decodeURIComponent(segUrl.pathname.replace(`/hls/${streamId}/`, ''));
      const name = path.basename(segRel);
      const seg = await http(segUrl);
      const file = fs.readFileSync(path.join(mediaDir, streamId, segRel));
      const row = recorded.get(`${rendition}/${name}`);
      const sha = crypto.createHash('sha256').update(seg.bytes).digest('hex');
      segments++;
      served.add(`${rendition}/${name}`);
      if (seg.status === 200 && seg.type === 'video/mp2t' && seg.bytes.equals(file) && row &&
        row.sha256 === sha && row.bytes === seg.bytes.length) {
        segmentsSame++;
      } else {
        diffs.push(`${segRel}: status ${seg.status} type ${seg.type} bytes ${seg.bytes.length} ` +
          `file ${file.length} same-as-file ${seg.bytes.equals(file)} row ${JSON.stringify(row)} sha ${sha}`);
      }
    }
  }
  ok(segments > 0 && segmentsSame === segments,
    `${label}: all ${segments} segments are byte-identical to the stored files and to the sha256 and size in segments`,
    diffs.join('\n'));
  const missing = [...recorded.keys()].filter((k) => !served.has(k));
  ok(recorded.size > 0 && missing.length === 0 && served.size === recorded.size,
    `${label}: the playlists list exactly the ${recorded.size} recorded segments`,
    `recorded but not listed: ${missing.join(' ')}; listed ${served.size}`);
  return { masterUrl, mediaUrl: new URL(masterUris[0], masterUrl) };
}

// ---- the test ----------------------------------------------------------------------
async function main() {
  for (const v of ['DATABASE_URL', 'ETH_RPC_URL']) {
    if (!process.env[v]) {
      ok(false, `environment: ${v} is set`);
      return;
    }
  }
  for (const bin of [BIN.rightsctl, BIN.gateway]) {
    if (!ok(fs.existsSync(bin), `${path.relative(ROOT, bin)} is built`)) return;
  }
  const base = process.env.TEST_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  state.tmp = fs.mkdtempSync(path.join(base, 'e2e.'));
  state.gatewayLog = path.join(state.tmp, 'gateway.log');
  const mediaDir = path.join(state.tmp, 'media');
  const { keyFile, secretFile } = e2e.writeSecrets(state.tmp);

  // Database, migrations, vault, demo creator.
  state.dbAdminUrl = process.env.DATABASE_URL;
  const db = await e2e.createDatabase(state.dbAdminUrl);
  state.dbName = db.name;
  const dbUrl = db.url;
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    CHAIN_ID: CHAIN_ID.toString(),
    OPERATOR_KEY_FILE: keyFile,
    NODE_PATH: path.join(ROOT, '.tools', 'node_modules'),
  };
  const vault = await e2e.migrateAndDeploy(env);
  if (!vault) return;
  env.VAULT_ADDRESS = vault;

  const provider = e2e.provider();
  state.provider = provider;
  const creator = ethers.Wallet.createRandom().connect(provider);
  const seeded = await e2e.seedDemo(env, ['--owner', creator.address, '--price-wei', PRICE_WEI.toString(),
    '--tip-min-wei', TIP_MIN_WEI.toString(), '--title', 'e2e stream']);
  const d = seeded.d;
  if (!ok(seeded.code === 0 && d && d.stream_id && d.pass_address && d.ingest_key &&
    d.creator_key === ethers.id(d.creator_id) && d.stream_key === ethers.id(d.stream_id),
  'demo.js deploys the pass and registers creator, pass and stream (keys = keccak256(id))', seeded.out)) return;
  state.streamId = d.stream_id;

  // The gateway.
  const gwEnv = {
    ...env,
    AUTH_SECRET_FILE: secretFile,
    MEDIA_DIR: mediaDir,
    WEB_DIR: path.join(ROOT, 'services/gateway/web'),
    LOG_LEVEL: 'info',
  };
  const g = await e2e.startService(BIN.gateway, gwEnv, 'GATEWAY_LISTEN', state.gatewayLog);
  state.gateway = g.entry;
  const gw = g.url;
  const domain = g.domain;
  ok(g.health && g.health.checks && g.health.checks.postgres === 'ok', 'the gateway starts and /healthz is 200',
    JSON.stringify(g.health));
  const info = await http(`${gw}/v1/streams/${d.stream_id}`);
  ok(info.status === 200 && info.json.access.passes.length === 1 &&
    info.json.access.passes[0].contract === d.pass_address && info.json.access.tip_min_wei === TIP_MIN_WEI.toString(),
  'GET /v1/streams/{id} lists the pass and the tip rule', info.text);

  // Publish while the fans pay.
  state.publish = start(BIN.rightsctl, ['publish', '--api', gw, '--stream', d.stream_id, '--key', d.ingest_key,
    '--input', 'testsrc', '--ladder', '480p,360p', '--duration', String(PUBLISH_DURATION_S)],
  { cwd: ROOT, env }, path.join(state.tmp, 'publish.log'));

  const operator = new ethers.Wallet(OPERATOR_KEY, provider);
  const [fanA, fanB, fanC, fanD] = [0, 1, 2, 3].map(() => ethers.Wallet.createRandom().connect(provider));
  ok(await e2e.fund(operator, [fanA.address, fanB.address, fanC.address], FAN_FUNDS_WEI), 'fans A, B, C funded (operator, explicit nonces)');
  const artifact = JSON.parse(fs.readFileSync(path.join(ROOT, 'contracts-abi/RightsPass.json'), 'utf8'));
  const vaultAbi = ['function tip(bytes32 creatorKey, bytes32 streamKey) payable'];
  const passA = new ethers.Contract(d.pass_address, artifact.abi, fanA);
  const mint = await (await passA.mint({ value: PRICE_WEI })).wait(1, CMD_TIMEOUT_MS);
  const minted = mint.logs.map((l) => { try { return passA.interface.parseLog(l); } catch (e) { return null; } })
    .find((l) => l && l.name === 'Transfer');
  const tokenId = minted ? minted.args.tokenId : null;
  ok(mint.status === 1 && tokenId !== null && (await passA.balanceOf(fanA.address)) === 1n,
    'fan A buys a pass: mint{value: price}', `status ${mint.status} token ${tokenId}`);
  const tipTx = await new ethers.Contract(vault, vaultAbi, fanB).tip(d.creator_key, d.stream_key, { value: TIP_MIN_WEI });
  const tip = await tipTx.wait(1, CMD_TIMEOUT_MS);
  ok(tip.status === 1, 'fan B tips: vault.tip(creatorKey, streamKey){value: tip_min_wei}');

  const sessions = {};
  for (const [name, w] of [['A', fanA], ['B', fanB], ['C', fanC], ['creator', creator]]) {
    const s = await signIn(gw, domain, w);
    ok(s.token !== null, `${name} signs in with SIWE (siwe message, ethers signature)`, s.why);
    sessions[name] = s.token;
  }
  if (!sessions.A || !sessions.B || !sessions.C) return;

  const credit = await http(`${gw}/v1/streams/${d.stream_id}/tips`, {
    method: 'POST', headers: { ...bearer(sessions.B), 'content-type': 'application/json' },
    body: JSON.stringify({ tx_hash: tip.hash }),
  });
  ok(credit.status === 200 && credit.json.allowed === true && credit.json.total_wei === TIP_MIN_WEI.toString() &&
    [TIP_MIN_WEI.toString(), '0'].includes(credit.json.credited_wei),
  'POST /v1/streams/{id}/tips {tx_hash} credits B\'s tip: total = tip_min_wei, allowed', credit.text);
  const again = await http(`${gw}/v1/streams/${d.stream_id}/tips`, {
    method: 'POST', headers: { ...bearer(sessions.B), 'content-type': 'application/json' },
    body: JSON.stringify({ tx_hash: tip.hash }),
  });
  ok(again.status === 200 && again.json.credited_wei === '0' && again.json.total_wei === TIP_MIN_WEI.toString(),
    'crediting the same tip again adds nothing', again.text);

  // Wait for the publish to end: the recording is then complete.
  const published = await withTimeout(state.publish.done, PUBLISH_DONE_MS, 'rightsctl publish');
  ok(published.code === 0, `rightsctl publish --input testsrc --ladder 480p,360p --duration ${PUBLISH_DURATION_S} exits 0`,
    `${JSON.stringify(published)}\n${tail(path.join(state.tmp, 'publish.log'), 10)}`);
  // ffmpeg exits once its last uploads are sent; the gateway may still be
  // storing them (its answers come after), so the end is awaited, bounded.
  const recDeadline = Date.now() + RECORDING_END_MS;
  let rec = '';
  for (;;) {
    rec = await demo.psql(dbUrl, "SELECT status, array_to_string(renditions, ',') FROM recordings WHERE stream_id = :'id'::uuid;\n",
      { id: d.stream_id });
    if (rec.trim() === 'ended|0,1' || Date.now() > recDeadline) break;
    await sleep(100);
  }
  ok(rec.trim() === 'ended|0,1', `the recording has renditions 0,1 and ended (within ${RECORDING_END_MS} ms of the publish's exit)`, rec);

  const ctx = { gw, streamId: d.stream_id, mediaDir, dbUrl };
  const playedA = await play('A (pass)', ctx, sessions.A, 'pass');
  await play('B (tip)', ctx, sessions.B, 'tip');

  // C: nothing paid.
  const denied = await http(`${gw}/v1/streams/${d.stream_id}/access`, { headers: bearer(sessions.C) });
  const req = denied.json && denied.json.requirements;
  ok(denied.status === 402 && denied.type.startsWith('application/problem+json') && denied.json.status === 402 &&
    denied.json.allowed === false && req && req.passes.length === 1 && req.passes[0].contract === d.pass_address &&
    req.passes[0].price_wei === PRICE_WEI.toString() && req.tip_min_wei === TIP_MIN_WEI.toString() &&
    req.creator_key === d.creator_key && req.stream_key === d.stream_key && req.vault === vault,
  'C: access is 402 problem+json with the requirements (pass and price, tip_min_wei, creator_key, stream_key, vault)',
  `${denied.status} ${denied.type} ${denied.text}`);
  const deniedPl = await http(`${gw}/hls/${d.stream_id}/master.m3u8`, { headers: bearer(sessions.C) });
  ok(deniedPl.status === 402, 'C: the master playlist is 402 too', `${deniedPl.status} ${deniedPl.text}`);
  if (sessions.creator) {
    const own = await http(`${gw}/v1/streams/${d.stream_id}/access`, { headers: bearer(sessions.creator) });
    ok(own.status === 200 && own.json.via === 'owner', 'the creator is allowed as the owner', own.text);
  }

  // A sells the pass away: the next playlist fetch is 402, though the
  // playback token in its URL (from A's last playlist) is still valid.
  if (playedA && tokenId !== null) {
    const t = await (await passA.transferFrom(fanA.address, fanD.address, tokenId)).wait(1, CMD_TIMEOUT_MS);
    const t0 = Date.now();
    let last = null;
    while (Date.now() - t0 < REVOKE_WAIT_MS) {
      last = await http(playedA.mediaUrl);
      if (last.status === 402) break;
      await sleep(100);
    }
    ok(t.status === 1 && last && last.status === 402,
      `A transfers the pass away (transferFrom): A's next playlist fetch is 402 (after ${Date.now() - t0} ms)`,
      last && `${last.status} ${last.text.slice(0, 300)}`);
    const accA = await http(`${gw}/v1/streams/${d.stream_id}/access`, { headers: bearer(sessions.A) });
    ok(accA.status === 402, 'A: access is 402 after the transfer', accA.text);
    const sD = await signIn(gw, domain, fanD);
    const accD = sD.token && await http(`${gw}/v1/streams/${d.stream_id}/access`, { headers: bearer(sD.token) });
    ok(accD && accD.status === 200 && accD.json.via === 'pass', 'D, who received the pass, is allowed', accD ? accD.text : sD.why);
  }

  // The browser tests, against this gateway and stream.
  for (const rel of browserTests()) {
    await runBrowserTest(rel, gw);
  }
}

// runBrowserTest(rel, gw): runs one browser test and counts its results here.
async function runBrowserTest(rel, gw) {
  const name = `browser/${path.basename(rel, '.js')}`;
  const file = path.resolve(ROOT, rel);
  if (!ok(fs.existsSync(file), `${name}: ${rel} exists`)) return;
  const t0 = Date.now();
  const r = await run('node', [file], {
    ...process.env,
    NODE_PATH: path.join(ROOT, '.tools', 'node_modules'),
    GATEWAY_URL: gw,
    ETH_RPC_URL: process.env.ETH_RPC_URL,
    STREAM_ID: state.streamId,
    FAN_KEY: BROWSER_FUNDER_KEY,
    TEST_TMPDIR: state.tmp,
  }, BROWSER_TEST_MS);
  let summary = null;
  let notOk = 0;
  for (const line of r.out.split('\n')) {
    const m = /^(ok|not ok) - (.*)$/.exec(line);
    if (m) {
      ok(m[1] === 'ok', `${name}: ${m[2]}`);
      if (m[1] !== 'ok') notOk++;
    } else if (/^[0-9]+ passed, [0-9]+ failed$/.test(line)) {
      summary = line;
    } else if (line !== '') {
      console.log(line.startsWith('#') ? line : `# ${line}`);
    }
  }
  // A crash, a missing summary or a failing exit that no "not ok" line explains.
  if (summary === null || (r.code !== 0 && notOk === 0)) {
    ok(false, `${name}: ends with a summary line and a matching exit status`,
      `exit ${r.code} signal ${r.signal}, summary ${summary}`);
  }
  console.log(`# ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function cleanup() {
  await stop(state.publish);
  await stop(state.gateway, 10000);
  if (tap.failed() > 0 && state.gatewayLog) {
    console.log('# gateway log (last 30 lines):');
    console.log(tail(state.gatewayLog, 30).split('\n').map((l) => `#   ${l}`).join('\n'));
  }
  await e2e.teardown(state);
}

e2e.main(main, cleanup, { timeoutMs: TEST_TIMEOUT_MS, label: 'end to end' });
