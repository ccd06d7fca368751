#!/usr/bin/env node
// test_watch.js - the fan page in headless Chromium (Debian's chromium, driven
// by playwright-core) against a running gateway, with an injected EIP-1193
// wallet backed by an anvil account: open /watch/<id>, connect, sign in (SIWE),
// see the 402 gate with its "Buy pass" button, buy the pass, and check that
// the video plays (currentTime advances) with no page error.
//
//   GATEWAY_URL=http://127.0.0.1:8080 ETH_RPC_URL=http://127.0.0.1:8545 \
//   STREAM_ID=<uuid> FAN_KEY=0x<anvil dev key> \
//   NODE_PATH=.tools/node_modules node tests/browser/test_watch.js
//
// The stream must list at least one pass and be live (or recorded) with media
// the gateway serves. The fan is a fresh random account, funded from FAN_KEY
// with the pass price plus gas, so that it starts without a pass and the test
// can run again on the same stack. Optional env: CHROMIUM (/usr/bin/chromium),
// TEST_TMPDIR (a screenshot and the page's console are written there on
// failure), WATCH_PLAY_S (seconds of playback to observe, 4), WATCH_VIA
// ("pass", the default, or "tip": pay with vault.tip() instead; the stream
// must then have a tip rule).
//
// Every wait has a hard limit. Prints "ok - ..." / "not ok - ..." lines and a
// closing "N passed, N failed"; exits 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const ethers = require('ethers');

const LAUNCH_TIMEOUT_MS = 30000;
const PAGE_TIMEOUT_MS = 15000; // navigation and one UI step
const SIGNIN_TIMEOUT_MS = 30000; // sign-in up to the 402 gate
const PURCHASE_TIMEOUT_MS = 90000; // mint, receipt, access retry, first frame
const TX_TIMEOUT_MS = 60000; // the funding transfer
const TEST_TIMEOUT_MS = 240000; // the whole run
const PLAY_S = Number(process.env.WATCH_PLAY_S || 4);
const MIN_ADVANCE_S = 1;
const MINT_CALLDATA = '0x1249c58b'; // RightsPass.mint()
const TIP_SELECTOR = '0x7e93163b'; // SettlementVault.tip(bytes32,bytes32)
const TIPPED_TOPIC = '0xeb79b06f2ac3a54de76ee6e9cf2011fb5d71c77c2894b204337cf66dbe87fc14';

const tap = require('../lib/tap.js');
const { withTimeout } = require('../lib/e2e.js');

const ok = tap.ok;
function finish() {
  tap.finish();
}

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`not ok - environment: ${name} is not set`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  return v;
}

async function fetchJson(url, ms) {
  const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  const body = await res.json().catch(() => null);
  return { status: res.status, body };
}

// The wallet the page talks to: window.ethereum.request() is forwarded to
// handle() in node, which answers from an ethers Wallet on ETH_RPC_URL.
function makeWallet(fan, provider, log) {
  const methods = {
    async eth_requestAccounts() { return [fan.address]; },
    async eth_accounts() { return [fan.address]; },
    async eth_chainId() { return provider.send('eth_chainId', []); },
    async personal_sign([messageHex, address]) {
      if (ethers.getAddress(address) !== fan.address) throw new Error(`unknown account ${address}`);
      return fan.signMessage(ethers.getBytes(messageHex));
    },
    async eth_sendTransaction([tx]) {
      if (ethers.getAddress(tx.from) !== fan.address) throw new Error(`unknown account ${tx.from}`);
      const sent = await fan.sendTransaction({
        to: tx.to,
        value: tx.value ? BigInt(tx.value) : 0n,
        data: tx.data || '0x',
      });
      log.push({ method: 'eth_sendTransaction', to: tx.to, value: tx.value, data: tx.data, hash: sent.hash });
      return sent.hash;
    },
    async eth_getTransactionReceipt([hash]) {
      return provider.send('eth_getTransactionReceipt', [hash]);
    },
  };
  return async function handle(method, params) {
    log.push({ method });
    const fn = methods[method];
    if (!fn) return { error: { code: 4200, message: `unsupported method ${method}` } };
    try {
      return { result: await fn(Array.isArray(params) ? params : []) };
    } catch (e) {
      return { error: { code: -32603, message: e.shortMessage || e.message } };
    }
  };
}

// Runs in the page before any of its scripts.
function injectProvider() {
  const listeners = {};
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      const answer = await window.__walletRequest(method, params === undefined ? [] : params);
      if (answer.error) {
        const err = new Error(answer.error.message);
        err.code = answer.error.code;
        throw err;
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== fn);
    },
  };
}

async function main() {
  const gateway = env('GATEWAY_URL').replace(/\/+$/, '');
  const rpcUrl = env('ETH_RPC_URL');
  const streamId = env('STREAM_ID');
  const funderKey = env('FAN_KEY');
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const tmpdir = process.env.TEST_TMPDIR || null;
  const via = process.env.WATCH_VIA || 'pass';
  if (via !== 'pass' && via !== 'tip') {
    ok(false, `WATCH_VIA is 'pass' or 'tip', not '${via}'`);
    return;
  }

  const provider = new ethers.JsonRpcProvider(rpcUrl, undefined, { polling: true, pollingInterval: 250 });
  const funder = new ethers.Wallet(funderKey, provider);
  const fan = ethers.Wallet.createRandom().connect(provider);

  // The stream and its first pass, from the gateway's public API.
  const info = await fetchJson(`${gateway}/v1/streams/${streamId}`, PAGE_TIMEOUT_MS);
  const passes = (info.body && info.body.access && info.body.access.passes) || [];
  if (!ok(info.status === 200 && passes.length > 0, 'GET /v1/streams/{id} lists a pass',
    `status ${info.status}: ${JSON.stringify(info.body)}`)) return;
  const pass = passes[0];
  const passContract = new ethers.Contract(pass.contract,
    ['function balanceOf(address) view returns (uint256)'], provider);
  const tipMinWei = info.body.access.tip_min_wei;
  if (via === 'tip' && !ok(tipMinWei !== null && tipMinWei !== undefined,
    'WATCH_VIA=tip: the stream has a tip rule', JSON.stringify(info.body.access))) return;

  const fund = BigInt(pass.price_wei) + BigInt(tipMinWei || 0) + ethers.parseEther('0.1');
  const fundTx = await funder.sendTransaction({ to: fan.address, value: fund });
  const fundReceipt = await withTimeout(fundTx.wait(), TX_TIMEOUT_MS, 'funding transfer');
  const before = await passContract.balanceOf(fan.address);
  if (!ok(fundReceipt.status === 1 && before === 0n, 'fresh fan funded, holds no pass',
    `receipt status ${fundReceipt.status}, balanceOf ${before}`)) return;

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    args: [
      ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []), // no sandbox as root
      '--autoplay-policy=no-user-gesture-required',
      '--mute-audio',
    ],
  });
  const pageErrors = [];
  const consoleLines = [];
  const walletLog = [];
  let page;
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(PAGE_TIMEOUT_MS);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.stack || e.message));
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.exposeFunction('__walletRequest', makeWallet(fan, provider, walletLog));
    await page.addInitScript(injectProvider);

    const res = await page.goto(`${gateway}/watch/${streamId}`, { timeout: PAGE_TIMEOUT_MS });
    const title = page.locator('#title');
    await title.filter({ hasNotText: 'Loading' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    ok(res && res.status() === 200 && (await title.textContent()) === info.body.title,
      'watch page loads and shows the stream title',
      `status ${res && res.status()}, title '${await title.textContent()}'`);

    await page.getByRole('button', { name: 'Connect wallet' }).click();
    const account = page.locator('#account');
    await account.filter({ hasText: fan.address }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    ok(true, 'connect wallet shows the checksummed address');

    await page.getByRole('button', { name: 'Sign in' }).click();
    const buy = page.getByRole('button', { name: /^Buy pass/ }).first();
    await buy.waitFor({ state: 'visible', timeout: SIGNIN_TIMEOUT_MS });
    ok(await account.textContent().then((t) => t.includes('signed in')),
      'sign-in succeeds and access answers 402 with a Buy pass button');

    ok(await page.getByRole('button', { name: /^Tip/ }).isVisible() === (tipMinWei != null),
      'the Tip button is shown exactly when the stream has a tip rule');

    if (via === 'pass') {
      await buy.click();
    } else {
      await page.getByRole('button', { name: /^Tip/ }).click();
    }
    const outcome = await page.waitForFunction(() => {
      const v = document.querySelector('#video');
      const err = document.querySelector('#error');
      if (err && !err.hidden && err.textContent) return `error: ${err.textContent}`;
      return v && !v.paused && v.currentTime > 0 ? 'playing' : null;
    }, null, { timeout: PURCHASE_TIMEOUT_MS, polling: 250 }).then((h) => h.jsonValue());
    if (!ok(outcome === 'playing', `after the ${via === 'pass' ? 'purchase' : 'tip'} the video starts playing`, outcome)) return;
    const sent = walletLog.filter((l) => l.method === 'eth_sendTransaction' && l.hash);
    if (via === 'pass') {
      const mint = sent[0];
      ok(sent.length === 1 && mint.data === MINT_CALLDATA &&
        ethers.getAddress(mint.to) === ethers.getAddress(pass.contract) &&
        BigInt(mint.value) === BigInt(pass.price_wei),
        'Buy pass sends one mint() to the pass contract with its price', JSON.stringify(sent));
      const after = await passContract.balanceOf(fan.address);
      ok(after === 1n, 'the fan holds the pass on chain', `balanceOf ${after}`);
    } else {
      const tip = sent[0];
      const data = TIP_SELECTOR + info.body.creator_key.slice(2) + info.body.stream_key.slice(2);
      ok(sent.length === 1 && tip.data.toLowerCase() === data.toLowerCase() &&
        ethers.getAddress(tip.to) === ethers.getAddress(info.body.access.vault) &&
        BigInt(tip.value) === (BigInt(tipMinWei) > 0n ? BigInt(tipMinWei) : 1n),
        'Tip sends one tip(creatorKey, streamKey) to the vault with the minimum', JSON.stringify(sent));
      const receipt = await provider.getTransactionReceipt(tip.hash);
      const tipped = receipt && receipt.logs.some((l) => l.topics[0] === TIPPED_TOPIC &&
        l.topics[3] === ethers.zeroPadValue(fan.address, 32).toLowerCase());
      ok(tipped, 'the tip transaction emitted Tipped from the fan', JSON.stringify(receipt && receipt.logs));
    }

    const t0 = await page.evaluate(() => document.querySelector('#video').currentTime);
    await page.waitForTimeout(PLAY_S * 1000);
    const t1 = await page.evaluate(() => document.querySelector('#video').currentTime);
    ok(t1 - t0 > MIN_ADVANCE_S, `video currentTime advances more than ${MIN_ADVANCE_S} s in ${PLAY_S} s`,
      `currentTime ${t0} -> ${t1}`);

    const shownError = await page.locator('#error').isVisible() ? await page.locator('#error').textContent() : '';
    ok(pageErrors.length === 0 && !shownError, 'no page error and no error shown',
      [...pageErrors, shownError].filter(Boolean).join('\n'));
  } catch (e) {
    ok(false, 'browser flow', e.stack || e.message);
  } finally {
    if (tap.failed() > 0 && page && tmpdir) {
      await withTimeout(page.screenshot({ path: path.join(tmpdir, 'test_watch.png'), fullPage: true }),
        PAGE_TIMEOUT_MS, 'screenshot').catch(() => {});
      fs.writeFileSync(path.join(tmpdir, 'test_watch.console.txt'),
        [...consoleLines, '--- page errors', ...pageErrors].join('\n') + '\n');
      console.log(`# screenshot and console in ${tmpdir}`);
    }
    if (tap.failed() > 0) {
      const status = page ? await page.locator('#status').textContent().catch(() => '') : '';
      const error = page ? await page.locator('#error').textContent().catch(() => '') : '';
      console.log(`# page status: ${status}\n# page error: ${error}`);
      console.log(consoleLines.slice(-20).map((l) => `# console ${l}`).join('\n'));
    }
    await withTimeout(browser.close(), PAGE_TIMEOUT_MS, 'browser close').catch(() => {});
  }
}

const guard = setTimeout(() => {
  ok(false, `whole test within ${TEST_TIMEOUT_MS / 1000} s`);
  finish();
}, TEST_TIMEOUT_MS);
main()
  .catch((e) => ok(false, 'test setup', e.stack || e.message))
  .finally(() => {
    clearTimeout(guard);
    finish();
  });
