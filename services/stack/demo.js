#!/usr/bin/env node
// demo.js - seeds one demo creator: a creator, its RightsPass and a stream
// that the pass (or enough tips) unlocks. Two ways:
//
//   --api URL (what `make run` does): as a creator would, through the
//       settlement service's REST API at URL: sign in with the owner's wallet
//       (SIWE), POST /v1/creators, PUT .../splits (--split, default the 5-way
//       demo split below), POST .../passes (the operator deploys the pass; the
//       script waits until its code is on chain), POST .../streams.
//   without --api (tests/e2e/test_gateway_e2e.js, which runs the gateway
//       alone): deploys the pass itself and inserts the rows the gateway
//       reads (migrations/0002_gateway.sql: creators, passes, streams,
//       stream_passes) through psql.
//
//   NODE_PATH=.tools/node_modules node services/stack/demo.js \
//       (--owner ADDRESS | --api URL --owner-key-file FILE [--split ROLE:ADDRESS:BPS,...]) \
//       [--price-wei N] [--max-supply N] [--royalty-bps N] [--tip-min-wei N|none] \
//       [--name TEXT] [--title TEXT] [--format json|env]
//
// Environment: ETH_RPC_URL, VAULT_ADDRESS, optional CHAIN_ID (must match the
// node); with --api also SIWE_DOMAIN (the domain the services check);
// without it OPERATOR_KEY_FILE (hex key, pays for everything), DATABASE_URL
// (libpq URL; its password goes to psql through PGPASSWORD, never on a
// command line) and MAX_FEE_PER_GAS_WEI (the most it bids per gas, 500 gwei).
//
// What it makes, all fresh each run:
//   creator  id = random v4 UUID, creator_key = keccak256(utf8(id)), owner = --owner
//   pass     RightsPass(name, symbol, price, max supply, royalty bps, vault,
//            creator_key, owner = --owner), deployed by a one-off key that the
//            operator funds with exactly the deployment's gas: its address never
//            repeats, so `make run` on a fresh anvil beside a kept database never
//            meets a pass row of an earlier run. Both transactions are EIP-1559
//            with explicit nonces and fees.
//   stream   id = random v4 UUID, stream_key = keccak256(utf8(id)), tip_min_wei
//            (none: tips never unlock it), ingest_key_hash = sha256(utf8(ingest
//            key)) of a fresh random 43-character ingest key, shown only here;
//            one access rule: holding >= 1 pass.
// The rows go in one transaction, every value as a psql variable (:'name').
//
// Output on stdout: one JSON object (--format json, the default) or, with
// --format env, lines KEY=VALUE whose values are all [A-Za-z0-9_:.x-] (ids,
// hex, decimal, the ingest key): DEMO_CREATOR_ID, DEMO_CREATOR_KEY,
// DEMO_CREATOR_OWNER, DEMO_PASS_ADDRESS, DEMO_PASS_PRICE_WEI, DEMO_STREAM_ID,
// DEMO_STREAM_KEY, DEMO_TIP_MIN_WEI (empty: no tip rule), DEMO_INGEST_KEY.
// Logs go to stderr. Exit 0 on success, 1 on failure, 2 on bad flags.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const { execFile } = require('child_process');
const ethers = require('ethers');
const apiclient = require('./apiclient');

const RIGHTS_PASS_ARTIFACT = require('path').join(__dirname, '..', '..', 'contracts-abi', 'RightsPass.json');
const TX_TIMEOUT_MS = 60000;
const PSQL_TIMEOUT_MS = 30000;
const PRIORITY_FEE_WEI = 1000000000n; // 1 gwei
const MAX_FEE_PER_GAS_WEI_DEFAULT = 500000000000n; // as config.c
const GAS_MARGIN_PCT = 120n; // on top of the node's estimate
const NAME_BYTES_MAX = 100; // passes.name; creators.name and streams.title allow 200
const SYMBOL_BYTES_MAX = 20;
const U256_MAX = (1n << 256n) - 1n;
const PASS_DEPLOY_WAIT_MS = 60000; // the operator's deployment, broadcast by the settlement service
// The demo's royalty split: anvil accounts 3..7 (public dev keys).
const DEMO_SPLIT = [
  { role: 'composer', payee: '0x90F79bf6EB2c4f870365E785982E1f101E93b906', bps: 3500 },
  { role: 'performer', payee: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', bps: 2500 },
  { role: 'mixer', payee: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc', bps: 1500 },
  { role: 'equipment', payee: '0x976EA74026E726554dB657fA54763abd0C3a0aa9', bps: 1000 },
  { role: 'community', payee: '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955', bps: 1500 },
];

const DEFAULTS = {
  owner: null,
  api: null,
  ownerKeyFile: null,
  split: DEMO_SPLIT,
  priceWei: ethers.parseEther('0.01'),
  maxSupply: 1000n,
  royaltyBps: 500n,
  tipMinWei: ethers.parseEther('0.005'),
  name: 'Demo creator',
  title: 'Demo live stream (test source)',
  format: 'json',
};

function log(msg, kv = {}) {
  const extra = Object.entries(kv).map(([k, v]) => ` ${k}=${v}`).join('');
  process.stderr.write(`ts=${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} level=info svc=demo msg="${msg}"${extra}\n`);
}

class UsageError extends Error {}

function parseUint(flag, text, min, max) {
  if (!/^[0-9]{1,78}$/.test(text)) throw new UsageError(`${flag}: '${text}' is not a decimal number`);
  const v = BigInt(text);
  if (v < min || v > max) throw new UsageError(`${flag}: ${text} is not in ${min}..${max}`);
  return v;
}

function parseText(flag, text, bytesMax) {
  if (text.length === 0 || Buffer.byteLength(text) > bytesMax || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new UsageError(`${flag}: 1 to ${bytesMax} bytes without control characters`);
  }
  return text;
}

// parseArgs(argv) -> options; throws UsageError.
function parseArgs(argv) {
  const o = { ...DEFAULTS };
  const seen = new Set();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '-h' || flag === '--help') return { help: true };
    const value = argv[i + 1];
    if (!flag.startsWith('--')) throw new UsageError(`unknown argument '${flag}'`);
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (seen.has(flag)) throw new UsageError(`${flag} given twice`);
    seen.add(flag);
    i++;
    switch (flag) {
      case '--owner':
        if (!ethers.isAddress(value)) throw new UsageError(`--owner: '${value}' is not an address`);
        o.owner = ethers.getAddress(value);
        break;
      case '--api':
        if (!/^https?:\/\/[^\s/]+$/.test(value)) throw new UsageError(`--api: '${value}' is not http(s)://HOST[:PORT]`);
        o.api = value;
        break;
      case '--owner-key-file': o.ownerKeyFile = value; break;
      case '--split': o.split = parseSplit(value); break;
      case '--price-wei': o.priceWei = parseUint(flag, value, 1n, U256_MAX); break;
      case '--max-supply': o.maxSupply = parseUint(flag, value, 1n, U256_MAX); break;
      case '--royalty-bps': o.royaltyBps = parseUint(flag, value, 0n, 10000n); break;
      case '--tip-min-wei':
        o.tipMinWei = value === 'none' ? null : parseUint(flag, value, 1n, U256_MAX);
        break;
      case '--name': o.name = parseText(flag, value, NAME_BYTES_MAX); break;
      case '--title': o.title = parseText(flag, value, 200); break;
      case '--format':
        if (value !== 'json' && value !== 'env') throw new UsageError(`--format: 'json' or 'env', not '${value}'`);
        o.format = value;
        break;
      default: throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (o.api === null && o.owner === null) throw new UsageError('--owner ADDRESS (or --api URL) is required');
  if (o.api !== null && (o.owner !== null || o.ownerKeyFile === null)) {
    throw new UsageError('--api takes --owner-key-file FILE (the owner signs in), not --owner');
  }
  return o;
}

// parseSplit("role:0xADDR:bps,...") -> [{role, payee, bps}]; the service
// checks the rest (distinct payees, bps sum 10000).
function parseSplit(text) {
  return text.split(',').map((part) => {
    const m = /^([^:,]{1,64}):(0x[0-9a-fA-F]{40}):([0-9]{1,5})$/.exec(part);
    if (!m) throw new UsageError(`--split: '${part}' is not ROLE:ADDRESS:BPS`);
    return { role: m[1], payee: ethers.getAddress(m[2]), bps: Number(m[3]) };
  });
}

function usage() {
  return 'usage: demo.js (--owner ADDRESS | --api URL --owner-key-file FILE [--split ROLE:ADDRESS:BPS,...])\n' +
    '                [--price-wei N] [--max-supply N] [--royalty-bps N]\n' +
    '                [--tip-min-wei N|none] [--name TEXT] [--title TEXT] [--format json|env]\n' +
    '  env: ETH_RPC_URL VAULT_ADDRESS [CHAIN_ID]; with --api SIWE_DOMAIN;\n' +
    '       otherwise OPERATOR_KEY_FILE DATABASE_URL [MAX_FEE_PER_GAS_WEI]\n';
}

function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new UsageError(`${name} is not set`);
  return v;
}

// pgConnection(url) -> {target, password}: a libpq URL without its password
// (which goes to psql as PGPASSWORD) and the password ('' if none). A
// keyword=value connection string is passed on as it is.
function pgConnection(url) {
  if (!/^postgres(ql)?:\/\//.test(url)) return { target: url, password: '' };
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { target: u.toString(), password };
}

// psql(databaseUrl, sql, vars, opts) -> stdout: runs `sql` (stdin) with
// ON_ERROR_STOP, in one transaction unless opts.transaction === false (CREATE
// DATABASE cannot run in one), each vars entry bound as a psql variable
// (interpolate it as :'name' or :"name", quoted by psql). Output is unaligned,
// tuples only.
function psql(databaseUrl, sql, vars = {}, opts = {}) {
  const { target, password } = pgConnection(databaseUrl);
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', target];
  if (opts.transaction !== false) args.push('--single-transaction');
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(k)) throw new Error(`psql variable name '${k}'`);
    args.push('-v', `${k}=${v}`);
  }
  args.push('-f', '-');
  const env = { ...process.env, PGCONNECT_TIMEOUT: '10' };
  if (password) env.PGPASSWORD = password;
  return new Promise((resolve, reject) => {
    const child = execFile('psql', args, { env, timeout: PSQL_TIMEOUT_MS, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`psql failed: ${String(stderr).trim() || err.message}`));
        else resolve(stdout);
      });
    child.stdin.end(sql);
  });
}

// fees(provider) -> {maxFeePerGas, maxPriorityFeePerGas}: twice the latest
// base fee plus 1 gwei, never above MAX_FEE_PER_GAS_WEI.
async function fees(provider) {
  const block = await provider.getBlock('latest');
  const cap = process.env.MAX_FEE_PER_GAS_WEI ? BigInt(process.env.MAX_FEE_PER_GAS_WEI) : MAX_FEE_PER_GAS_WEI_DEFAULT;
  const base = block && block.baseFeePerGas !== null ? block.baseFeePerGas : 0n;
  let maxFeePerGas = 2n * base + PRIORITY_FEE_WEI;
  if (maxFeePerGas > cap) maxFeePerGas = cap;
  if (maxFeePerGas <= base) throw new Error(`base fee ${base} is at or above MAX_FEE_PER_GAS_WEI ${cap}`);
  const maxPriorityFeePerGas = PRIORITY_FEE_WEI < maxFeePerGas ? PRIORITY_FEE_WEI : maxFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

// send(wallet, tx, what) -> receipt: signs tx as EIP-1559 with the wallet's
// pending nonce and the given fees, waits for a successful receipt.
async function send(wallet, tx, chainId, what) {
  const nonce = await wallet.provider.getTransactionCount(wallet.address, 'pending');
  const sent = await wallet.sendTransaction({ ...tx, type: 2, chainId, nonce });
  const receipt = await sent.wait(1, TX_TIMEOUT_MS);
  if (!receipt || receipt.status !== 1) throw new Error(`${what}: transaction ${sent.hash} failed`);
  log(`${what} mined`, { tx: sent.hash, block: receipt.blockNumber, nonce });
  return receipt;
}

// deployPass(operator, o, vault, creatorKey, chainId) -> {address, txHash}
async function deployPass(operator, o, vault, creatorKey, chainId) {
  const provider = operator.provider;
  const artifact = JSON.parse(fs.readFileSync(RIGHTS_PASS_ARTIFACT, 'utf8'));
  const deployer = ethers.Wallet.createRandom().connect(provider);
  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, deployer);
  const symbol = 'DEMO';
  const name = `${Array.from(o.name).slice(0, NAME_BYTES_MAX - 5).join('')} pass`;
  const deployTx = await factory.getDeployTransaction(name, symbol,
    o.priceWei, o.maxSupply, o.royaltyBps, vault, creatorKey, o.owner);
  const estimate = await provider.estimateGas({ ...deployTx, from: deployer.address });
  const gasLimit = (estimate * GAS_MARGIN_PCT) / 100n;
  const f = await fees(provider);
  await send(operator, { to: deployer.address, value: gasLimit * f.maxFeePerGas, gasLimit: 21000n, ...f },
    chainId, 'fund the pass deployer');
  const receipt = await send(deployer, { ...deployTx, gasLimit, ...f }, chainId, 'deploy RightsPass');
  const address = ethers.getAddress(receipt.contractAddress);
  const pass = new ethers.Contract(address, artifact.abi, provider);
  const [price, maxSupply] = await Promise.all([pass.price(), pass.maxSupply()]);
  if (price !== o.priceWei || maxSupply !== o.maxSupply) {
    throw new Error(`RightsPass at ${address} reads price ${price}, max supply ${maxSupply}`);
  }
  return { address, symbol, name, txHash: receipt.hash };
}

const INSERT_SQL = `
INSERT INTO creators (id, owner, creator_key, name)
    VALUES (:'creator_id'::uuid, decode(:'owner', 'hex'), decode(:'creator_key', 'hex'), :'creator_name');
INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply, royalty_bps)
    VALUES (decode(:'pass', 'hex'), :'creator_id'::uuid, :'pass_name', :'pass_symbol',
            :'price_wei'::numeric, :'max_supply'::numeric, :'royalty_bps'::integer);
INSERT INTO streams (id, creator_id, stream_key, title, tip_min_wei, ingest_key_hash)
    VALUES (:'stream_id'::uuid, :'creator_id'::uuid, decode(:'stream_key', 'hex'), :'title',
            NULLIF(:'tip_min_wei', '')::numeric, decode(:'ingest_key_hash', 'hex'));
INSERT INTO stream_passes (stream_id, contract, min_balance)
    VALUES (:'stream_id'::uuid, decode(:'pass', 'hex'), 1);
`;

const hex = (v) => v.toLowerCase().replace(/^0x/, '');

// expectStatus(r, status, what) -> r.json; throws with the problem's detail.
function expectStatus(r, status, what) {
  if (r.status !== status || !r.json) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

// seedViaApi(o, provider, chainId, vault) -> the demo's description, made
// through the settlement REST API as the owner (see the header).
async function seedViaApi(o, provider, chainId, vault) {
  const domain = requireEnv('SIWE_DOMAIN');
  const owner = new ethers.Wallet(fs.readFileSync(o.ownerKeyFile, 'utf8').trim());
  const s = await apiclient.signIn(o.api, domain, owner, chainId);
  if (!s.token) throw new Error(`sign-in as ${owner.address} failed: ${s.why}`);
  const st = apiclient.api(o.api, s.token);
  const creator = expectStatus(await st.post('/v1/creators', { name: o.name }), 201, 'POST /v1/creators');
  const base = `/v1/creators/${creator.id}`;
  const split = expectStatus(await st.put(`${base}/splits`, { shares: o.split }), 201, 'PUT splits');
  const symbol = 'DEMO';
  const passName = `${Array.from(o.name).slice(0, NAME_BYTES_MAX - 5).join('')} pass`;
  const pass = expectStatus(await st.post(`${base}/passes`, {
    name: passName, symbol, price_wei: o.priceWei.toString(), max_supply: o.maxSupply.toString(),
    royalty_bps: Number(o.royaltyBps),
  }), 201, 'POST passes');
  const deadline = Date.now() + PASS_DEPLOY_WAIT_MS;
  while ((await provider.getCode(pass.contract)) === '0x') {
    if (Date.now() > deadline) throw new Error(`the pass ${pass.contract} (tx ${pass.tx_hash}) is not deployed after ${PASS_DEPLOY_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const access = { passes: [{ contract: pass.contract, min_balance: '1' }] };
  if (o.tipMinWei !== null) access.tip_min_wei = o.tipMinWei.toString();
  const stream = expectStatus(await st.post(`${base}/streams`, { title: o.title, access }), 201, 'POST streams');
  log('demo creator, split, pass and stream made through the API',
    { creator: creator.id, split_version: split.version, pass: pass.contract, stream: stream.id });
  return {
    chain_id: chainId.toString(),
    vault_address: vault,
    creator_id: creator.id,
    creator_key: creator.creator_key,
    creator_owner: owner.address,
    creator_name: o.name,
    split_version: split.version,
    split: o.split,
    pass_address: ethers.getAddress(pass.contract),
    pass_name: passName,
    pass_symbol: symbol,
    pass_price_wei: o.priceWei.toString(),
    pass_max_supply: o.maxSupply.toString(),
    pass_royalty_bps: Number(o.royaltyBps),
    pass_tx_hash: pass.tx_hash,
    stream_id: stream.id,
    stream_key: stream.stream_key,
    stream_title: o.title,
    tip_min_wei: o.tipMinWei === null ? null : o.tipMinWei.toString(),
    ingest_key: stream.ingest_key,
  };
}

// seed(o) -> the demo's description (see the header).
async function seed(o) {
  const rpcUrl = requireEnv('ETH_RPC_URL');
  const vault = ethers.getAddress(requireEnv('VAULT_ADDRESS'));
  const provider = new ethers.JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, polling: true, pollingInterval: 250 });
  try {
    const chainId = BigInt(await provider.send('eth_chainId', []));
    if (process.env.CHAIN_ID && BigInt(process.env.CHAIN_ID) !== chainId) {
      throw new Error(`the node is on chain ${chainId}, CHAIN_ID is ${process.env.CHAIN_ID}`);
    }
    if (o.api !== null) return await seedViaApi(o, provider, chainId, vault);
    const keyFile = requireEnv('OPERATOR_KEY_FILE');
    const databaseUrl = requireEnv('DATABASE_URL');
    const operator = new ethers.Wallet(fs.readFileSync(keyFile, 'utf8').trim(), provider);
    const creatorId = crypto.randomUUID();
    const streamId = crypto.randomUUID();
    const ingestKey = crypto.randomBytes(32).toString('base64url');
    const creatorKey = ethers.id(creatorId);
    const streamKey = ethers.id(streamId);
    const pass = await deployPass(operator, o, vault, creatorKey, chainId);
    await psql(databaseUrl, INSERT_SQL, {
      creator_id: creatorId,
      owner: hex(o.owner),
      creator_key: hex(creatorKey),
      creator_name: o.name,
      pass: hex(pass.address),
      pass_name: pass.name,
      pass_symbol: pass.symbol,
      price_wei: o.priceWei.toString(),
      max_supply: o.maxSupply.toString(),
      royalty_bps: o.royaltyBps.toString(),
      stream_id: streamId,
      stream_key: hex(streamKey),
      title: o.title,
      tip_min_wei: o.tipMinWei === null ? '' : o.tipMinWei.toString(),
      ingest_key_hash: crypto.createHash('sha256').update(ingestKey, 'utf8').digest('hex'),
    });
    log('demo creator, pass and stream registered', { creator: creatorId, pass: pass.address, stream: streamId });
    return {
      chain_id: chainId.toString(),
      vault_address: vault,
      creator_id: creatorId,
      creator_key: creatorKey,
      creator_owner: o.owner,
      creator_name: o.name,
      pass_address: pass.address,
      pass_name: pass.name,
      pass_symbol: pass.symbol,
      pass_price_wei: o.priceWei.toString(),
      pass_max_supply: o.maxSupply.toString(),
      pass_royalty_bps: Number(o.royaltyBps),
      pass_tx_hash: pass.txHash,
      stream_id: streamId,
      stream_key: streamKey,
      stream_title: o.title,
      tip_min_wei: o.tipMinWei === null ? null : o.tipMinWei.toString(),
      ingest_key: ingestKey,
    };
  } finally {
    provider.destroy();
  }
}

function formatEnv(d) {
  const lines = {
    DEMO_CREATOR_ID: d.creator_id,
    DEMO_CREATOR_KEY: d.creator_key,
    DEMO_CREATOR_OWNER: d.creator_owner,
    DEMO_PASS_ADDRESS: d.pass_address,
    DEMO_PASS_PRICE_WEI: d.pass_price_wei,
    DEMO_STREAM_ID: d.stream_id,
    DEMO_STREAM_KEY: d.stream_key,
    DEMO_TIP_MIN_WEI: d.tip_min_wei === null ? '' : d.tip_min_wei,
    DEMO_INGEST_KEY: d.ingest_key,
  };
  for (const [k, v] of Object.entries(lines)) {
    if (!/^[A-Za-z0-9_:.x-]*$/.test(v)) throw new Error(`${k} has an unexpected character`);
  }
  return Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join('');
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
    if (o.help) {
      process.stdout.write(usage());
      return 0;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`demo.js: ${e.message}\n${usage()}`);
    return 2;
  }
  try {
    const d = await seed(o);
    process.stdout.write(o.format === 'env' ? formatEnv(d) : `${JSON.stringify(d, null, 2)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`demo.js: ${e instanceof UsageError ? e.message : e.shortMessage || e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

module.exports = { psql, pgConnection, parseArgs, seed, fees };

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`demo.js: ${e.stack || e.message}\n`);
    process.exit(1);
  });
}
