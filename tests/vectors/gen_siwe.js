#!/usr/bin/env node
// gen_siwe.js - Sign-In with Ethereum (EIP-4361) vectors for
// services/common/siwe.c, produced by independent implementations: the npm
// `siwe` package (SiweMessage.prepareMessage() writes each message, parsing
// it back with new SiweMessage(text) gives the fields, SiweMessage.verify()
// gives its verdict) and `ethers` (Wallet.signMessage() signs, hashMessage()
// hashes, verifyMessage() recovers).
//
//   NODE_PATH=.tools/node_modules node tests/vectors/gen_siwe.js [OUT]
//
// OUT defaults to tests/vectors/siwe_js.txt; "-" writes to stdout.
// tests/run.sh regenerates every vector file into a scratch directory and
// fails on any difference; it learns the file name from this line:
// output: siwe_js.txt
//
// Deterministic: fixed keys (anvil's well-known dev accounts 0-4, from the
// public "test test ... junk" mnemonic; they hold nothing of value), fixed
// nonces and times, and RFC 6979 signatures.
//
// Line format (tests/vectors.h: fields separated by one space):
//   msg NAME HEX
//       the exact message bytes, as hex without 0x.
//   fields NAME scheme=S domain=D address=A statement=H uri=U chain=N nonce=X
//          iat=T exp=T nbf=T rid=H res=H,H,...
//       what `siwe` parses out of the message. "-" marks an absent field;
//       statement, rid and each resource are hex (without 0x) of their text,
//       "" (nothing after '=') when present but empty; res lists the
//       resources in order ("-" when there is no "Resources:" line). Times
//       are unix seconds (floor of the instant, per Date.parse).
//   sig NAME TAG key=K signature=S v=V hash=H recovered=R now=T ref=REF expect=E
//       one signature of message NAME: K is the signing dev key, S the 65
//       bytes r || s || v as 0x-hex, H the EIP-191 hash of the message. TAG
//       says how S was made: "signed" (ethers, v 27/28), "v01" (the same r, s
//       with v 0/1), "high_s" (s' = n - s with the other v, the malleable
//       twin), "other_key" (signed by another dev key). R is what ethers
//       recovers ("-" when it refuses, as for high s). REF is the verdict of
//       siwe's SiweMessage.verify({signature, domain: localhost:8080, time: T})
//       ("ok" or the error type, spaces as '_'; "-" when not asked).
//       E is what services/common/siwe.c must answer for this signature at
//       unix time T when it expects domain localhost:8080, scheme http and
//       chain id 31337: ok, high_s, chain_mismatch, domain_mismatch,
//       scheme_mismatch, expired, not_yet_valid, issued_in_future or
//       signer_mismatch (no EIP-1271 fallback in the unit test).
'use strict';

const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');
const { SiweMessage } = require('siwe');

const OUT = process.argv[2] || path.join(__dirname, 'siwe_js.txt'); // '-': stdout
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
];
const DOMAIN = 'localhost:8080';
const URI = 'http://localhost:8080';
const T0 = '2024-01-01T00:00:00Z';

const unix = (iso) => Math.floor(Date.parse(iso) / 1000);
const hexOf = (text) => Buffer.from(text, 'utf8').toString('hex');
const opt = (v, f) => (v === undefined || v === null ? '-' : f(v));

// [name, SiweMessage fields (over the defaults), key index, checks]; each
// check is [tag, now (ISO), expect]. Every message also gets "v01" and
// "high_s" signatures at its first check's time.
const CASES = [
  ['basic', { statement: 'Sign in to watch the stream.' }, 0,
    [['signed', '2024-01-01T00:00:10Z', 'ok'], ['other_key', '2024-01-01T00:00:10Z', 'signer_mismatch']]],
  ['no_statement', {}, 1, [['signed', '2024-01-01T00:05:00Z', 'ok']]],
  ['empty_statement', { statement: '' }, 2, [['signed', '2024-01-01T00:00:01Z', 'ok']]],
  ['reserved_statement', { statement: "I accept the ToS: https://example.com/tos?a=1&b=[2]#x (v1.0) ~ 100 ok! $5, 'quoted' @you;" }, 3,
    [['signed', '2024-01-01T00:00:01Z', 'ok']]],
  ['resources', {
    statement: 'Access the stream.',
    resources: ['ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/',
      'https://example.com/my-web2-claim.json',
      'http://localhost:8080/watch/0b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b?x=1&y=%20#frag'],
  }, 2, [['signed', '2024-01-01T00:00:10Z', 'ok']]],
  ['resources_empty', { resources: [] }, 4, [['signed', '2024-01-01T00:00:10Z', 'ok']]],
  ['times', {
    issuedAt: '2024-06-01T12:00:00.123Z',
    notBefore: '2024-06-01T12:00:05Z',
    expirationTime: '2024-06-01T14:10:00+02:00',
  }, 3, [
    ['signed', '2024-06-01T12:00:05Z', 'ok'],
    ['signed', '2024-06-01T12:09:59Z', 'ok'],
    ['signed', '2024-06-01T12:00:04Z', 'not_yet_valid'],
    ['signed', '2024-06-01T12:10:00Z', 'expired'],
    ['signed', '2024-06-02T00:00:00Z', 'expired'],
  ]],
  ['offset_time', { issuedAt: '2024-01-01T05:30:00.5+05:30', expirationTime: '2024-01-01T00:00:00-05:00' }, 4, [
    ['signed', '2024-01-01T04:59:59Z', 'ok'],
    ['signed', '2024-01-01T05:00:00Z', 'expired'],
  ]],
  ['request_id', { requestId: "req-42_abc.~:@!$&'()*+,;=%20" }, 4, [['signed', '2024-01-01T00:00:10Z', 'ok']]],
  ['scheme_http', { scheme: 'http', statement: 'With a scheme.' }, 0, [['signed', '2024-01-01T00:00:10Z', 'ok']]],
  ['scheme_https', { scheme: 'https' }, 1, [['signed', '2024-01-01T00:00:10Z', 'scheme_mismatch']]],
  ['all_fields', {
    scheme: 'http',
    statement: 'Everything at once.',
    issuedAt: '2024-02-29T23:59:59.999999999Z',
    expirationTime: '2024-03-01T00:30:00Z',
    notBefore: '2024-03-01T00:00:00Z',
    requestId: 'e2c8a3b1-5d6f-4a7b-9c8d-0e1f2a3b4c5d',
    resources: ['https://localhost:8080/streams/1'],
    nonce: 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6a7B8c9D0e1F2',
  }, 2, [['signed', '2024-03-01T00:00:00Z', 'ok'], ['signed', '2024-03-01T00:30:00Z', 'expired']]],
  ['chain_1', { chainId: 1 }, 0, [['signed', '2024-01-01T00:00:10Z', 'chain_mismatch']]],
  ['domain_other', { domain: 'evil.example' }, 1, [['signed', '2024-01-01T00:00:10Z', 'domain_mismatch']]],
  ['domain_port', { domain: 'localhost:8081', uri: 'http://localhost:8081' }, 2,
    [['signed', '2024-01-01T00:00:10Z', 'domain_mismatch']]],
  ['domain_ipv6', { domain: '[::1]:8080', uri: 'http://[::1]:8080/' }, 3, [['signed', '2024-01-01T00:00:10Z', 'domain_mismatch']]],
  ['domain_userinfo', { domain: 'fan@localhost:8080' }, 4, [['signed', '2024-01-01T00:00:10Z', 'domain_mismatch']]],
  ['issued_future', { issuedAt: '2024-01-01T01:00:00Z' }, 0, [
    ['signed', '2024-01-01T00:00:00Z', 'issued_in_future'],
    ['signed', '2024-01-01T00:59:30Z', 'ok'],
  ]],
  ['nonce_8', { nonce: 'abcd1234', chainId: 31337 }, 1, [['signed', '2024-01-01T00:00:10Z', 'ok']]],
];

function message(fields) {
  return new SiweMessage({
    domain: DOMAIN, uri: URI, version: '1', chainId: 31337, nonce: '32891756abcdef01', issuedAt: T0,
    ...fields,
  });
}

function fieldsLine(name, text) {
  const p = new SiweMessage(text); // siwe's own ABNF parser
  const res = p.resources === undefined ? '-' : p.resources.map(hexOf).join(',');
  return [`fields ${name}`, `scheme=${opt(p.scheme, String)}`, `domain=${p.domain}`,
    `address=${p.address}`, `statement=${opt(p.statement, hexOf)}`, `uri=${p.uri}`,
    `chain=${p.chainId}`, `nonce=${p.nonce}`, `iat=${unix(p.issuedAt)}`,
    `exp=${opt(p.expirationTime, unix)}`, `nbf=${opt(p.notBefore, unix)}`,
    `rid=${opt(p.requestId, hexOf)}`, `res=${res}`].join(' ');
}

function variants(sig) {
  const s = ethers.Signature.from(sig);
  const rs = s.r.slice(2) + s.s.slice(2);
  const v01 = `0x${rs}${(s.v - 27).toString(16).padStart(2, '0')}`;
  const highS = (N - BigInt(s.s)).toString(16).padStart(64, '0');
  const high = `0x${s.r.slice(2)}${highS}${(s.v === 27 ? 28 : 27).toString(16)}`;
  return { v01, high };
}

function recovered(text, sig) {
  try {
    return ethers.verifyMessage(text, sig);
  } catch (err) {
    return '-';
  }
}

async function siweVerdict(m, sig, now) {
  const r = await m.verify({ signature: sig, domain: DOMAIN, time: now }, { suppressExceptions: true });
  if (r.success) return 'ok';
  return String((r.error && r.error.type) || 'error').replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, '');
}

async function sigLine(name, tag, key, sig, text, m, now, expect, ask) {
  const v = parseInt(sig.slice(130), 16);
  const ref = ask ? await siweVerdict(m, sig, now) : '-';
  return [`sig ${name} ${tag}`, `key=${key}`, `signature=${sig}`, `v=${v}`,
    `hash=${ethers.hashMessage(text)}`, `recovered=${recovered(text, sig)}`,
    `now=${unix(now)}`, `ref=${ref}`, `expect=${expect}`].join(' ');
}

async function caseLines(name, fields, keyIndex, checks) {
  const wallet = new ethers.Wallet(KEYS[keyIndex]);
  const other = new ethers.Wallet(KEYS[(keyIndex + 1) % KEYS.length]);
  const m = message({ address: wallet.address, ...fields });
  const text = m.prepareMessage();
  const sig = await wallet.signMessage(text);
  const lines = [`msg ${name} ${hexOf(text)}`, fieldsLine(name, text)];
  for (const [tag, now, expect] of checks) {
    const key = tag === 'other_key' ? other : wallet;
    const s = tag === 'other_key' ? await other.signMessage(text) : sig;
    lines.push(await sigLine(name, tag, key.privateKey, s, text, m, now, expect, true));
  }
  const { v01, high } = variants(sig);
  const [, now0, expect0] = checks[0];
  lines.push(await sigLine(name, 'v01', wallet.privateKey, v01, text, m, now0, expect0, true));
  const highExpect = expect0 === 'ok' ? 'high_s' : expect0; // message checks come first
  lines.push(await sigLine(name, 'high_s', wallet.privateKey, high, text, m, now0, highExpect, false));
  return lines;
}

async function main() {
  const siwePkg = require('siwe/package.json');
  const ethersVersion = ethers.version;
  const lines = [
    '# siwe_js.txt - generated by tests/vectors/gen_siwe.js; do not edit by hand.',
    `# siwe ${siwePkg.version} (SiweMessage.prepareMessage), ethers ${ethersVersion} (Wallet.signMessage)`,
  ];
  for (const [name, fields, keyIndex, checks] of CASES) {
    lines.push(...(await caseLines(name, fields, keyIndex, checks)));
  }
  const text = `${lines.join('\n')}\n`;
  if (OUT === '-') {
    process.stdout.write(text);
  } else {
    fs.writeFileSync(OUT, text);
  }
  process.stderr.write(`wrote ${OUT} (${CASES.length} messages)\n`);
}

main().catch((err) => {
  process.stderr.write(`gen_siwe.js: ${err.stack || err}\n`);
  process.exit(1);
});
