// apiclient.js - a small client of the services' REST API for the dev stack's
// scripts (demo.js) and the node tests: JSON requests with a timeout, and
// Sign-In with Ethereum (GET /v1/auth/nonce, an EIP-4361 message built by the
// `siwe` package and signed by an ethers wallet, POST /v1/auth/siwe). A
// session token from either service works on both (docs/architecture.md).
'use strict';

const { SiweMessage } = require('siwe');

const HTTP_TIMEOUT_MS = 30000;
const SESSION_REQUEST_MS = 10 * 60000; // the message's own expiration

// http(url, opts) -> {status, headers, text, json}: json is null unless the
// body parses. opts: method, headers, body (a string), timeoutMs.
async function http(url, opts = {}) {
  const r = await fetch(url, {
    method: opts.method || 'GET',
    headers: opts.headers || {},
    body: opts.body,
    signal: AbortSignal.timeout(opts.timeoutMs || HTTP_TIMEOUT_MS),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (e) {
    json = null;
  }
  return { status: r.status, headers: r.headers, text, json };
}

// api(base, token) -> {get, post, put}(path, body?, headers?) bound to a
// service and a session token (may be null).
function api(base, token) {
  const call = (method) => (path, body, headers = {}) => http(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return { get: call('GET'), post: call('POST'), put: call('PUT') };
}

// signIn(base, domain, wallet, chainId) -> {token, why}: token is null when
// the service refused, with the status and body in `why`. `domain` is the
// SIWE_DOMAIN the services check; the message's uri is the service's URL.
async function signIn(base, domain, wallet, chainId) {
  const n = await http(`${base}/v1/auth/nonce`);
  if (n.status !== 200 || !n.json || !n.json.nonce) return { token: null, why: `nonce: ${n.status} ${n.text}` };
  const now = Date.now();
  const message = new SiweMessage({
    domain,
    address: wallet.address,
    statement: 'Sign in to the creator stack.',
    uri: base,
    version: '1',
    chainId: Number(chainId),
    nonce: n.json.nonce,
    issuedAt: new Date(now).toISOString(),
    expirationTime: new Date(now + SESSION_REQUEST_MS).toISOString(),
  }).prepareMessage();
  const signature = await wallet.signMessage(message);
  const r = await http(`${base}/v1/auth/siwe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature }),
  });
  const good = r.status === 200 && r.json && typeof r.json.token === 'string' && r.json.address === wallet.address;
  return { token: good ? r.json.token : null, why: `siwe: ${r.status} ${r.text}` };
}

module.exports = { http, api, signIn };
