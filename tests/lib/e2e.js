// e2e.js - what the end-to-end tests (tests/e2e/test_*.js) share: child
// processes in their own process groups, stopped on every exit path; bounded
// HTTP requests; free ports; a fresh database next to DATABASE_URL, migrated
// by `rightsctl migrate`, and a vault deployed by `rightsctl deploy`; the
// services' binaries started on free ports; funded wallets; and the test's
// frame (a whole-test time limit, SIGINT/SIGTERM, cleanup, the closing TAP
// line of tests/lib/tap.js).
//
//   const e2e = require('../lib/e2e.js');
//   e2e.main(async () => { ... }, cleanup, {timeoutMs, label});
//
// Everything is bounded: commands (CMD_TIMEOUT_MS unless given), HTTP
// requests (HTTP_TIMEOUT_MS), service start-up (SERVICE_UP_MS), stops
// (STOP_WAIT_MS, then SIGKILL to the group), any promise (withTimeout, also
// used by tests/browser/test_watch.js). Sign-in (SIWE) is
// services/stack/apiclient.js's signIn().
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const ethers = require('ethers');

const tap = require('./tap.js');

const ROOT = path.resolve(__dirname, '..', '..');
const demo = require(path.join(ROOT, 'services/stack/demo.js'));

const BUILD_DIR = path.resolve(ROOT, process.env.BUILD_DIR || 'build');
const BIN = {
  rightsctl: path.join(BUILD_DIR, 'bin', 'rightsctl'),
  gateway: path.join(BUILD_DIR, 'bin', 'gateway'),
  settlement: path.join(BUILD_DIR, 'bin', 'settlement'),
};
const CHAIN_ID = BigInt(process.env.CHAIN_ID || '31337');
// anvil's well-known dev keys: 0 = operator (deploys, funds the fans),
// 9 = vault admin and guardian (never the operator).
const OPERATOR_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ADMIN_ADDRESS = '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720';

const CMD_TIMEOUT_MS = 60000;
const HTTP_TIMEOUT_MS = 10000;
const SERVICE_UP_MS = 20000;
const STOP_WAIT_MS = 15000;
const CLEANUP_MS = 60000;

// ---- children: own process groups, stopped on every exit path ---------------------
const children = new Set();

// start(cmd, args, opts, logFile) -> {child, done: Promise<{code, signal}>, out(), exited}:
// stdout/stderr go to logFile when given, else are collected (out()).
function start(cmd, args, opts, logFile) {
  const fd = logFile ? fs.openSync(logFile, 'a') : null;
  const child = spawn(cmd, args, {
    ...opts,
    detached: true, // its own process group: a stop reaches its children too
    stdio: ['ignore', fd === null ? 'pipe' : fd, fd === null ? 'pipe' : fd],
  });
  if (fd !== null) fs.closeSync(fd);
  const chunks = [];
  if (fd === null) {
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
  }
  const entry = { child, exited: false };
  children.add(entry);
  entry.done = new Promise((resolve) => {
    child.on('error', (e) => {
      entry.exited = true;
      children.delete(entry);
      resolve({ code: null, signal: null, error: e });
    });
    child.on('close', (code, signal) => {
      entry.exited = true;
      children.delete(entry);
      resolve({ code, signal });
    });
  });
  entry.out = () => Buffer.concat(chunks).toString('utf8');
  return entry;
}

function signalGroup(entry, sig) {
  if (entry.exited || !entry.child.pid) return;
  try {
    process.kill(-entry.child.pid, sig);
  } catch (e) {
    try { entry.child.kill(sig); } catch (e2) { /* gone */ }
  }
}

// stop(entry, ms): SIGTERM to the leader, then SIGKILL to the group after ms.
async function stop(entry, ms = STOP_WAIT_MS) {
  if (!entry || entry.exited) return;
  try { entry.child.kill('SIGTERM'); } catch (e) { /* gone */ }
  const timer = setTimeout(() => signalGroup(entry, 'SIGKILL'), ms);
  await entry.done;
  clearTimeout(timer);
  signalGroup(entry, 'SIGKILL'); // whatever of the group outlived its leader
}

// stopAll(): every child still running.
async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

process.on('exit', () => {
  for (const entry of children) signalGroup(entry, 'SIGKILL');
});

// run(cmd, args, env, ms) -> {code, signal, out}: a command to completion, bounded.
async function run(cmd, args, env, ms = CMD_TIMEOUT_MS) {
  const entry = start(cmd, args, { cwd: ROOT, env });
  const timer = setTimeout(() => signalGroup(entry, 'SIGKILL'), ms);
  const r = await entry.done;
  clearTimeout(timer);
  return { code: r.code, signal: r.signal, out: entry.out() };
}

// withTimeout(promise, ms, what) -> promise's outcome, or a rejection
// "<what>: timed out after <ms> ms" (the timer cleared either way).
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, n) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch (e) {
    return `(no ${file})`;
  }
}

// ---- HTTP ---------------------------------------------------------------------------
// http(url, {method, headers, body}) -> {status, type, headers, bytes, text, json}:
// json is null unless the body parses; redirects are not followed.
async function http(url, opts = {}) {
  const res = await fetch(url, { ...opts, redirect: 'manual', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: res.status, type: res.headers.get('content-type') || '', headers: res.headers, bytes, text, json };
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

// freePort() -> a port in 20000..32767 (below the ephemeral range) that
// 127.0.0.1 could bind just now.
async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + crypto.randomInt(12768);
    const free = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port');
}

// ---- the stack under test ----------------------------------------------------------
// createDatabase(adminUrl, prefix) -> {url, name}: a fresh database next to adminUrl's.
async function createDatabase(adminUrl, prefix = 'e2e') {
  const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await demo.psql(adminUrl, 'CREATE DATABASE :"db";\n', { db: name }, { transaction: false });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

// dropDatabase(adminUrl, name): best effort; says so when it fails.
async function dropDatabase(adminUrl, name) {
  if (!name) return;
  try {
    await demo.psql(adminUrl, 'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\n', { db: name }, { transaction: false });
  } catch (e) {
    console.log(`# could not drop database ${name}: ${e.message}`);
  }
}

// writeSecrets(dir) -> {keyFile, secretFile}: the operator key (anvil
// account 0) and a fresh AUTH_SECRET_FILE, both mode 0600.
function writeSecrets(dir) {
  const keyFile = path.join(dir, 'operator.key');
  const secretFile = path.join(dir, 'auth.secret');
  fs.writeFileSync(keyFile, `${OPERATOR_KEY}\n`, { mode: 0o600 });
  fs.writeFileSync(secretFile, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  return { keyFile, secretFile };
}

// migrateAndDeploy(env, deployArgs) -> vault address, or null after a failed
// check (reported): `rightsctl migrate` on env.DATABASE_URL, then `rightsctl
// deploy --admin --guardian ...deployArgs` (operator = OPERATOR_KEY_FILE;
// e.g. ['--claim-delay', '3600'] for an audit window).
async function migrateAndDeploy(env, deployArgs = []) {
  const migrate = await run(BIN.rightsctl, ['migrate', '--dir', 'migrations'], env);
  if (!tap.ok(migrate.code === 0, 'rightsctl migrate on a fresh database', migrate.out)) return null;
  const deploy = await run(BIN.rightsctl, ['deploy', '--admin', ADMIN_ADDRESS, '--guardian', ADMIN_ADDRESS, ...deployArgs], env);
  const vault = deploy.out.split('\n').find((l) => /^0x[0-9a-fA-F]{40}$/.test(l));
  if (!tap.ok(deploy.code === 0 && vault, 'rightsctl deploy --admin --guardian deploys the vault', deploy.out)) return null;
  return vault;
}

// provider() -> an ethers provider on ETH_RPC_URL (chain id not probed,
// polling every 250 ms: anvil mines on demand).
function provider() {
  return new ethers.JsonRpcProvider(process.env.ETH_RPC_URL, undefined,
    { staticNetwork: true, polling: true, pollingInterval: 250 });
}

// seedDemo(env, args) -> {code, out, d}: services/stack/demo.js run with
// args (e.g. ['--owner', address, '--title', 'x']); d is the JSON object it
// prints (creator_id, stream_id, ingest_key, ...), null when there is none.
async function seedDemo(env, args) {
  const r = await run('node', [path.join(ROOT, 'services/stack/demo.js'), ...args], env);
  let d = null;
  try { d = JSON.parse(r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1)); } catch (e) { /* none */ }
  return { code: r.code, out: r.out, d };
}

// startService(bin, env, listenVar, logFile) -> {url, port, domain, health, entry}:
// the program on a free port (listenVar, and SIWE_DOMAIN = 127.0.0.1:port),
// up once /healthz answers 200; a port taken meanwhile is retried on another.
async function startService(bin, env, listenVar, logFile) {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const domain = `127.0.0.1:${port}`;
    const entry = start(bin, [], { cwd: ROOT, env: { ...env, [listenVar]: domain, SIWE_DOMAIN: domain } }, logFile);
    const url = `http://${domain}`;
    const deadline = Date.now() + SERVICE_UP_MS;
    while (Date.now() < deadline && !entry.exited) {
      const h = await http(`${url}/healthz`).catch(() => null);
      if (h && h.status === 200) return { url, port, domain, health: h.json, entry };
      await sleep(100);
    }
    lastError = entry.exited ? `${path.basename(bin)} exited` : `no 200 from /healthz in ${SERVICE_UP_MS} ms`;
    await stop(entry);
  }
  throw new Error(`${lastError}; see the log:\n${tail(logFile, 20)}`);
}

// fund(operator, addresses, wei) -> the receipts when every transfer
// succeeded, else null (explicit nonces and fees).
async function fund(operator, addresses, wei) {
  const provider = operator.provider;
  let nonce = await provider.getTransactionCount(operator.address, 'pending');
  const f = await demo.fees(provider);
  const sent = [];
  for (const to of addresses) {
    sent.push(await operator.sendTransaction({ to, value: wei, gasLimit: 21000n, type: 2,
      chainId: CHAIN_ID, nonce: nonce++, ...f }));
  }
  const receipts = await Promise.all(sent.map((t) => t.wait(1, CMD_TIMEOUT_MS)));
  return receipts.every((r) => r && r.status === 1) ? receipts : null;
}

// teardown(st): every child stopped, st.provider destroyed, the database
// st.dbName dropped, st.tmp removed when nothing failed (else kept, and named).
async function teardown(st) {
  await stopAll();
  if (st.provider) st.provider.destroy();
  await dropDatabase(st.dbAdminUrl, st.dbName);
  if (st.tmp && tap.failed() === 0) fs.rmSync(st.tmp, { recursive: true, force: true });
  else if (st.tmp) console.log(`# logs kept in ${st.tmp}`);
}

// ---- the test's frame ---------------------------------------------------------------
// main(body, cleanup, {timeoutMs, label}): runs body(), then cleanup() (bounded),
// then prints the closing line and exits. SIGINT/SIGTERM and the whole-test
// limit are failures that still clean up.
function main(body, cleanup, { timeoutMs, label }) {
  let finishing = false;
  async function finish(code) {
    if (finishing) return;
    finishing = true;
    try {
      await withTimeout(cleanup(), CLEANUP_MS, 'cleanup');
    } catch (e) {
      tap.ok(false, 'cleanup', e.message);
    }
    tap.finish(code);
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      tap.ok(false, `interrupted by ${sig}`);
      finish(1);
    });
  }
  const guard = setTimeout(() => {
    tap.ok(false, `whole test within ${timeoutMs / 1000} s`);
    finish(1);
  }, timeoutMs);
  const t0 = Date.now();
  body()
    .catch((e) => tap.ok(false, label, e.stack || e.message))
    .finally(() => {
      clearTimeout(guard);
      console.log(`# ${label} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      finish();
    });
}

module.exports = {
  ROOT, BIN, CHAIN_ID, OPERATOR_KEY, ADMIN_ADDRESS, CMD_TIMEOUT_MS,
  start, stop, stopAll, signalGroup, run, withTimeout, sleep, tail,
  http, bearer, freePort,
  createDatabase, dropDatabase, writeSecrets, migrateAndDeploy, provider, seedDemo, startService, fund,
  teardown,
  main,
};
