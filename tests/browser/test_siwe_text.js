#!/usr/bin/env node
// test_siwe_text.js - the fan page's pure helpers (services/gateway/web/static/app.js,
// loaded under node through its module guard) against independent
// implementations:
//   * siweMessage()        byte-identical to siwe's SiweMessage.prepareMessage(),
//                          parsed back by siwe, and verifiable when signed the way
//                          the page signs it (personal_sign over utf8ToHex(text));
//   * keccak256()          ethers.keccak256 (every length 0..300 across the rate
//                          boundaries) and the cast vectors in tests/vectors/keccak_cast.txt;
//   * toChecksumAddress()  ethers.getAddress and tests/vectors/eip55_cast.txt;
//   * tipCalldata(), MINT_CALLDATA, weiToHex(), tipAmountWei(), streamIdFromPath().
//
//   NODE_PATH=.tools/node_modules node tests/browser/test_siwe_text.js
//
// Random inputs come from a PRNG seeded by TEST_SEED (printed as "# seed=N").
// Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1 on failure.
'use strict';

const fs = require('fs');
const path = require('path');
const ethers = require('ethers');
const { SiweMessage } = require('siwe');

const ROOT = path.join(__dirname, '..', '..');
const app = require(path.join(ROOT, 'services/gateway/web/static/app.js'));

const tap = require('../lib/tap.js');

const ok = tap.ok;
function throws(fn) {
  try {
    fn();
    return false;
  } catch (e) {
    return true;
  }
}

// mulberry32, seeded from TEST_SEED (the runner's seed) or at random.
const seed = process.env.TEST_SEED !== undefined ?
  Number(BigInt(process.env.TEST_SEED) % 4294967296n) : (Math.random() * 4294967296) >>> 0;
console.log(`# seed=${process.env.TEST_SEED !== undefined ? process.env.TEST_SEED : seed}`);
let prngState = seed >>> 0;
function rand32() {
  prngState = (prngState + 0x6d2b79f5) >>> 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}
function randBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rand32() & 0xff;
  return b;
}
const hex = (b) => `0x${Buffer.from(b).toString('hex')}`;

// ------------------------------------------------------------------ SIWE text
const ADDRESS = ethers.getAddress('0x' + '7e5f4552091a69125d5dfcb7b8c2659029395bdf');
const BASE = {
  domain: '127.0.0.1:8080',
  address: ADDRESS,
  statement: app.SIWE_STATEMENT,
  uri: 'http://127.0.0.1:8080',
  version: '1',
  chainId: 31337,
  nonce: 'a1b2c3d4e5f6a7b8c9d0',
  issuedAt: '2025-01-02T03:04:05.678Z',
};
const CASES = [
  ['the page\'s fields (host with port, statement)', {}],
  ['no statement', { statement: undefined }],
  ['host without port, https origin', { domain: 'watch.example.org', uri: 'https://watch.example.org' }],
  ['IPv6 host', { domain: '[::1]:8080', uri: 'http://[::1]:8080' }],
  ['chain id 1', { chainId: 1 }],
  ['large chain id', { chainId: 4294967295 }],
  ['issued at without fraction', { issuedAt: '2025-01-02T03:04:05Z' }],
  ['all optional fields', {
    expirationTime: '2025-01-02T04:04:05.678Z',
    notBefore: '2025-01-02T03:00:00.000Z',
    requestId: 'req-42',
    resources: ['https://example.org/a', 'ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/'],
  }],
  ['all optional fields, no statement', {
    statement: undefined, expirationTime: '2030-01-01T00:00:00Z', resources: ['https://example.org/r'],
  }],
];
for (const [name, change] of CASES) {
  const f = { ...BASE, ...change };
  const ours = app.siweMessage(f);
  const ref = new SiweMessage({ ...f }).prepareMessage();
  ok(ours === ref, `siwe text matches SiweMessage.prepareMessage(): ${name}`,
    `ours:\n${JSON.stringify(ours)}\nsiwe:\n${JSON.stringify(ref)}`);
  let parsed;
  try {
    parsed = new SiweMessage(ours);
  } catch (e) {
    parsed = { error: e.message || String(e) };
  }
  ok(parsed.address === f.address && parsed.domain === f.domain && parsed.nonce === f.nonce &&
    parsed.chainId === f.chainId && parsed.uri === f.uri && parsed.statement === f.statement &&
    parsed.issuedAt === f.issuedAt,
  `siwe parses the text back to the same fields: ${name}`, JSON.stringify(parsed));
}

ok(throws(() => app.siweMessage({ ...BASE, statement: 'two\nlines' })) &&
  throws(() => app.siweMessage({ ...BASE, statement: 'cr\rhere' })),
'siweMessage refuses a statement with a line break');
ok(['domain', 'address', 'uri', 'version', 'chainId', 'nonce', 'issuedAt']
  .every((k) => throws(() => app.siweMessage({ ...BASE, [k]: undefined }))),
'siweMessage refuses a missing required field');

(async () => {
  // Signed the way the page signs: personal_sign(utf8ToHex(text)).
  const wallet = ethers.Wallet.createRandom();
  const fields = { ...BASE, address: wallet.address, issuedAt: new Date().toISOString() };
  const text = app.siweMessage(fields);
  ok(app.utf8ToHex(text) === ethers.hexlify(ethers.toUtf8Bytes(text)) &&
    app.utf8ToHex('é€😀') === ethers.hexlify(ethers.toUtf8Bytes('é€😀')),
  'utf8ToHex matches ethers (ASCII and multi-byte)');
  const signature = await wallet.signMessage(ethers.getBytes(app.utf8ToHex(text)));
  const verified = await new SiweMessage(text).verify(
    { signature, domain: fields.domain, nonce: fields.nonce }, { suppressExceptions: true });
  ok(verified.success === true, 'siwe verifies a signature over the page\'s message',
    JSON.stringify(verified.error));

  // ----------------------------------------------------------------- keccak
  const bad = [];
  for (let n = 0; n <= 300; n++) {
    const b = randBytes(n);
    if (hex(app.keccak256(b)) !== ethers.keccak256(b)) bad.push(n);
  }
  for (const n of [1000, 4096]) {
    const b = randBytes(n);
    if (hex(app.keccak256(b)) !== ethers.keccak256(b)) bad.push(n);
  }
  ok(bad.length === 0, 'keccak256 matches ethers for every length 0..300, 1000 and 4096 bytes',
    `mismatched lengths: ${bad.join(' ')}`);
  const kv = fs.readFileSync(path.join(ROOT, 'tests/vectors/keccak_cast.txt'), 'utf8')
    .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
  const kbad = kv.filter(([, input, digest]) => hex(app.keccak256(ethers.getBytes(input))) !== digest);
  ok(kv.length > 10 && kbad.length === 0, `keccak256 matches the ${kv.length} cast vectors`,
    kbad.map((v) => v[0]).join(' '));
  ok(hex(app.keccak256(ethers.toUtf8Bytes('0b7c6f4e-5a1d-4c8e-9f21-3d2a6b8e7c10'))) ===
    '0xe6bc09668e4a025f0d99fd462c8361596b3f3125e92fd36cb9c50d10bd5e1ca2',
  'keccak256 of the documented stream id gives the documented key');

  // ----------------------------------------------------------------- EIP-55
  const abad = [];
  for (let i = 0; i < 200; i++) {
    const lower = hex(randBytes(20));
    const want = ethers.getAddress(lower);
    for (const input of [lower, lower.toUpperCase().replace('0X', '0x'), want]) {
      if (app.toChecksumAddress(input) !== want) abad.push(input);
    }
  }
  ok(abad.length === 0, 'toChecksumAddress matches ethers.getAddress for 200 random addresses',
    abad.slice(0, 5).join('\n'));
  const ev = fs.readFileSync(path.join(ROOT, 'tests/vectors/eip55_cast.txt'), 'utf8')
    .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
  const ebad = ev.filter(([lower, sum]) => app.toChecksumAddress(lower) !== sum);
  ok(ev.length > 10 && ebad.length === 0, `toChecksumAddress matches the ${ev.length} cast vectors`,
    ebad.map((v) => v[0]).join('\n'));
  ok(['', '0x', '0x123', `0x${'g'.repeat(40)}`, `${'a'.repeat(42)}`, `0x${'a'.repeat(41)}`, null]
    .every((a) => throws(() => app.toChecksumAddress(a))),
  'toChecksumAddress refuses malformed addresses');

  // -------------------------------------------------------------- calldata
  const vault = new ethers.Interface(require(path.join(ROOT, 'contracts-abi/SettlementVault.json')).abi);
  const pass = new ethers.Interface(require(path.join(ROOT, 'contracts-abi/RightsPass.json')).abi);
  const ck = ethers.id('11111111-2222-4333-8444-555555555555');
  const sk = ethers.id('0b7c6f4e-5a1d-4c8e-9f21-3d2a6b8e7c10');
  ok(app.tipCalldata(ck, sk) === vault.encodeFunctionData('tip', [ck, sk]) &&
    app.tipCalldata(ck.toUpperCase().replace('0X', '0x'), sk) === vault.encodeFunctionData('tip', [ck, sk]),
  'tipCalldata equals the ABI encoding of SettlementVault.tip(creatorKey, streamKey)');
  ok(throws(() => app.tipCalldata('0x12', sk)) && throws(() => app.tipCalldata(ck, undefined)),
    'tipCalldata refuses keys that are not bytes32');
  ok(app.MINT_CALLDATA === pass.encodeFunctionData('mint', []), 'MINT_CALLDATA is RightsPass.mint()');

  // ------------------------------------------------------------ amounts, ids
  const wei = ['0', '1', '255', '10000000000000000', (2n ** 256n - 1n).toString()];
  ok(wei.every((w) => app.weiToHex(w) === ethers.toQuantity(BigInt(w))),
    'weiToHex matches ethers.toQuantity', wei.map((w) => app.weiToHex(w)).join(' '));
  ok(['', '-1', '1.5', '0x10', ' 1', '1'.repeat(79), 7].every((w) => throws(() => app.weiToHex(w))),
    'weiToHex refuses anything but a decimal string');
  ok(app.tipAmountWei('5000', '0') === '5000' && app.tipAmountWei('5000', '1200') === '3800' &&
    app.tipAmountWei('5000', '5000') === '1' && app.tipAmountWei('5000', '9000') === '1' &&
    app.tipAmountWei('0', '0') === '1' &&
    app.tipAmountWei((2n ** 200n).toString(), '1') === (2n ** 200n - 1n).toString(),
  'tipAmountWei is what is missing, and at least 1 wei');
  const id = '0b7c6f4e-5a1d-4c8e-9f21-3d2a6b8e7c10';
  ok(app.streamIdFromPath(`/watch/${id}`) === id && app.streamIdFromPath(`/watch/${id}/`) === id &&
    app.streamIdFromPath(`/watch/${id.toUpperCase()}`) === id &&
    [`/watch/${id}x`, '/watch/', '/watch/..%2f', `/watch/${id}/extra`, `/x/watch/${id}`, '/']
      .every((p) => app.streamIdFromPath(p) === null),
  'streamIdFromPath accepts /watch/<uuid> only');
  ok(app.formatEth('10000000000000000') === '0.01 ETH' && app.formatEth('1500000000000000000') === '1.5 ETH' &&
    app.formatEth('0') === '0 ETH' && app.formatEth('1') === '< 0.000001 ETH',
  'formatEth');
})()
  .catch((e) => ok(false, 'no exception', e.stack || e.message))
  .finally(() => {
    tap.finish();
  });
