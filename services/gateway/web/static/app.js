/* app.js - the fan page: stream lookup (GET /), and on /watch/{id} wallet
 * connection (EIP-1193 window.ethereum), Sign-In with Ethereum (EIP-4361),
 * the access check, Buy-pass and Tip transactions, and hls.js playback.
 *
 * Served by the gateway at /static/app.js under "Content-Security-Policy:
 * default-src 'self'": no inline script or style anywhere, elements are shown
 * and hidden with the `hidden` attribute.
 *
 * The file is a classic script with a UMD-style guard. In a browser it starts
 * the page; under node (`require()`) it only exports its pure helpers, which
 * tests/browser/test_siwe_text.js checks against siwe and ethers:
 *   keccak256(Uint8Array) -> Uint8Array(32), toChecksumAddress(hex) -> EIP-55,
 *   siweMessage(fields) -> EIP-4361 text, utf8ToHex(text), weiToHex(decimal),
 *   tipAmountWei(min, tipped), tipCalldata(creatorKey, streamKey), MINT_CALLDATA,
 *   streamIdFromPath(pathname), formatEth(wei).
 * Nothing here keeps the session token beyond the page's memory.
 */
(function (root, factory) {
    'use strict';
    const api = factory();
    if (typeof module === 'object' && module.exports) {
        module.exports = api;
    }
    if (typeof document !== 'undefined' && typeof window !== 'undefined') {
        api.start(window, document);
    }
})(typeof self !== 'undefined' ? self : this, function () {
    'use strict';

    /* ---------------------------------------------------------------- limits */
    const FETCH_TIMEOUT_MS = 15000; // every gateway request
    const WALLET_TIMEOUT_MS = 120000; // a wallet prompt (connect, sign, send)
    const RECEIPT_TIMEOUT_MS = 120000; // waiting for a transaction to be mined
    const RECEIPT_POLL_MS = 1000;
    const ACCESS_RETRIES = 10; // after a purchase: the gateway's cache may lag a block
    const ACCESS_RETRY_MS = 1500;
    const SIWE_STATEMENT = 'Sign in to watch streams on this gateway.';

    /* Selectors: RightsPass.mint() and SettlementVault.tip(bytes32,bytes32). */
    const MINT_CALLDATA = '0x1249c58b';
    const TIP_SELECTOR = '0x7e93163b';

    const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
    const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;
    const DECIMAL_RE = /^[0-9]{1,78}$/;

    /* ------------------------------------------------------------ keccak-256 */
    /* Keccak-f[1600] on 25 lanes held as 32-bit (lo, hi) pairs: lane i is
     * s[2i] (bits 0..31) and s[2i+1] (bits 32..63). */
    const KECCAK_RC = [
        '0000000000000001', '0000000000008082', '800000000000808a', '8000000080008000',
        '000000000000808b', '0000000080000001', '8000000080008081', '8000000000008009',
        '000000000000008a', '0000000000000088', '0000000080008009', '000000008000000a',
        '000000008000808b', '800000000000008b', '8000000000008089', '8000000000008003',
        '8000000000008002', '8000000000000080', '000000000000800a', '800000008000000a',
        '8000000080008081', '8000000000008080', '0000000080000001', '8000000080008008',
    ].map(function (h) {
        return [parseInt(h.slice(8), 16) >>> 0, parseInt(h.slice(0, 8), 16) >>> 0];
    });
    /* Rotation offsets, indexed x + 5y. */
    const KECCAK_ROT = [
        0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39,
        41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
    ];
    const KECCAK_RATE_BYTES = 136;

    function keccakF(s) {
        const c = new Uint32Array(10);
        const b = new Uint32Array(50);
        for (let round = 0; round < 24; round++) {
            for (let x = 0; x < 5; x++) { // theta
                c[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
                c[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^
                    s[2 * x + 41];
            }
            for (let x = 0; x < 5; x++) {
                const n = (x + 1) % 5;
                const p = (x + 4) % 5;
                const dlo = c[2 * p] ^ ((c[2 * n] << 1) | (c[2 * n + 1] >>> 31));
                const dhi = c[2 * p + 1] ^ ((c[2 * n + 1] << 1) | (c[2 * n] >>> 31));
                for (let y = 0; y < 25; y += 5) {
                    s[2 * (x + y)] ^= dlo;
                    s[2 * (x + y) + 1] ^= dhi;
                }
            }
            for (let x = 0; x < 5; x++) { // rho and pi: B[y, 2x+3y] = rot(A[x, y])
                for (let y = 0; y < 5; y++) {
                    const i = x + 5 * y;
                    const j = y + 5 * ((2 * x + 3 * y) % 5);
                    let lo = s[2 * i];
                    let hi = s[2 * i + 1];
                    let r = KECCAK_ROT[i];
                    if (r >= 32) {
                        const t = lo;
                        lo = hi;
                        hi = t;
                        r -= 32;
                    }
                    if (r > 0) {
                        const nlo = (lo << r) | (hi >>> (32 - r));
                        hi = (hi << r) | (lo >>> (32 - r));
                        lo = nlo;
                    }
                    b[2 * j] = lo;
                    b[2 * j + 1] = hi;
                }
            }
            for (let y = 0; y < 25; y += 5) { // chi
                for (let x = 0; x < 5; x++) {
                    const i = x + y;
                    const i1 = ((x + 1) % 5) + y;
                    const i2 = ((x + 2) % 5) + y;
                    s[2 * i] = b[2 * i] ^ (~b[2 * i1] & b[2 * i2]);
                    s[2 * i + 1] = b[2 * i + 1] ^ (~b[2 * i1 + 1] & b[2 * i2 + 1]);
                }
            }
            s[0] ^= KECCAK_RC[round][0]; // iota
            s[1] ^= KECCAK_RC[round][1];
        }
    }

    /* keccak256(bytes) -> Uint8Array(32): Ethereum's Keccak-256 (pad 0x01). */
    function keccak256(bytes) {
        const s = new Uint32Array(50);
        const blocks = Math.floor(bytes.length / KECCAK_RATE_BYTES) + 1;
        const last = new Uint8Array(KECCAK_RATE_BYTES);
        const tail = bytes.length % KECCAK_RATE_BYTES;
        last.set(bytes.subarray(bytes.length - tail));
        last[tail] ^= 0x01;
        last[KECCAK_RATE_BYTES - 1] ^= 0x80;
        for (let k = 0; k < blocks; k++) {
            const block = k === blocks - 1 ?
                last : bytes.subarray(k * KECCAK_RATE_BYTES, (k + 1) * KECCAK_RATE_BYTES);
            for (let i = 0; i < KECCAK_RATE_BYTES; i += 4) {
                const w = block[i] | (block[i + 1] << 8) | (block[i + 2] << 16) |
                    (block[i + 3] << 24);
                s[i >> 2] ^= w;
            }
            keccakF(s);
        }
        const out = new Uint8Array(32);
        for (let i = 0; i < 32; i++) {
            out[i] = (s[i >> 2] >>> (8 * (i & 3))) & 0xff;
        }
        return out;
    }

    /* ------------------------------------------------------- encoding helpers */
    function bytesToHex(bytes) {
        let h = '';
        for (let i = 0; i < bytes.length; i++) {
            h += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
        }
        return h;
    }

    function utf8Bytes(text) {
        return new TextEncoder().encode(text);
    }

    /* utf8ToHex(text) -> "0x..." : the hex form personal_sign expects. */
    function utf8ToHex(text) {
        return '0x' + bytesToHex(utf8Bytes(text));
    }

    /* toChecksumAddress("0x" + 40 hex, any case) -> EIP-55 form; throws on bad input. */
    function toChecksumAddress(address) {
        if (typeof address !== 'string' || !ADDRESS_RE.test(address)) {
            throw new Error("invalid address '" + String(address) + "'");
        }
        const lower = address.slice(2).toLowerCase();
        const hash = keccak256(utf8Bytes(lower));
        let out = '0x';
        for (let i = 0; i < 40; i++) {
            const nibble = (hash[i >> 1] >> (i & 1 ? 0 : 4)) & 0xf;
            out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
        }
        return out;
    }

    /* weiToHex("123") -> "0x7b": a JSON-RPC quantity from a decimal wei string. */
    function weiToHex(wei) {
        if (typeof wei !== 'string' || !DECIMAL_RE.test(wei)) {
            throw new Error("invalid wei amount '" + String(wei) + "'");
        }
        return '0x' + BigInt(wei).toString(16);
    }

    /* tipAmountWei(tip_min_wei, tipped_wei) -> decimal string: what is still
     * missing to reach the minimum, and at least 1 wei (the vault refuses 0). */
    function tipAmountWei(minWei, tippedWei) {
        const min = BigInt(minWei || '0');
        const tipped = BigInt(tippedWei || '0');
        const missing = min > tipped ? min - tipped : 0n;
        return (missing > 0n ? missing : 1n).toString();
    }

    /* tipCalldata(creatorKey, streamKey) -> calldata of tip(bytes32,bytes32). */
    function tipCalldata(creatorKey, streamKey) {
        if (!BYTES32_RE.test(creatorKey || '') || !BYTES32_RE.test(streamKey || '')) {
            throw new Error('invalid creator or stream key');
        }
        return TIP_SELECTOR + creatorKey.slice(2).toLowerCase() + streamKey.slice(2).toLowerCase();
    }

    /* streamIdFromPath("/watch/<uuid>") -> the lowercase uuid, or null. */
    function streamIdFromPath(pathname) {
        const m = /^\/watch\/([^/]+)\/?$/.exec(pathname || '');
        if (!m) {
            return null;
        }
        const id = decodeURIComponent(m[1]).toLowerCase();
        return UUID_RE.test(id) ? id : null;
    }

    /* formatEth("1500000000000000000") -> "1.5 ETH" (at most 6 decimals, truncated). */
    function formatEth(wei) {
        const v = BigInt(wei);
        const unit = 10n ** 18n;
        const whole = v / unit;
        let frac = ((v % unit) / 10n ** 12n).toString().padStart(6, '0').replace(/0+$/, '');
        if (frac === '' && v % unit !== 0n) {
            return '< 0.000001 ETH';
        }
        return whole.toString() + (frac ? '.' + frac : '') + ' ETH';
    }

    /* siweMessage(f) -> the EIP-4361 message text, scheme omitted:
     *   f.domain, f.address (EIP-55), f.statement (optional, one line), f.uri,
     *   f.version ("1"), f.chainId (number), f.nonce, f.issuedAt (RFC 3339), and
     *   optional f.expirationTime, f.notBefore, f.requestId, f.resources (array).
     * Lines are joined with LF, with no trailing newline, as siwe's
     * SiweMessage.prepareMessage() writes them. Throws on a statement with a
     * line break or a field that is missing. */
    function siweMessage(f) {
        const required = ['domain', 'address', 'uri', 'version', 'chainId', 'nonce', 'issuedAt'];
        for (const k of required) {
            if (f[k] === undefined || f[k] === null || String(f[k]) === '') {
                throw new Error("siwe message: missing field '" + k + "'");
            }
        }
        if (f.statement !== undefined && /[\r\n]/.test(f.statement)) {
            throw new Error('siwe message: the statement must be one line');
        }
        const lines = [
            f.domain + ' wants you to sign in with your Ethereum account:',
            f.address,
            '',
        ];
        if (f.statement !== undefined) {
            lines.push(f.statement);
        }
        lines.push('');
        lines.push('URI: ' + f.uri);
        lines.push('Version: ' + f.version);
        lines.push('Chain ID: ' + String(f.chainId));
        lines.push('Nonce: ' + f.nonce);
        lines.push('Issued At: ' + f.issuedAt);
        if (f.expirationTime) {
            lines.push('Expiration Time: ' + f.expirationTime);
        }
        if (f.notBefore) {
            lines.push('Not Before: ' + f.notBefore);
        }
        if (f.requestId) {
            lines.push('Request ID: ' + f.requestId);
        }
        if (f.resources) {
            lines.push('Resources:');
            for (const r of f.resources) {
                lines.push('- ' + r);
            }
        }
        return lines.join('\n');
    }

    /* ================================================================ page == */
    /* Everything below runs only in a browser (start() is called by the guard). */

    function start(win, doc) {
        const page = doc.body ? doc.body.getAttribute('data-page') : null;
        if (page === 'index') {
            startIndex(win, doc);
        } else if (page === 'watch') {
            startWatch(win, doc);
        }
    }

    function el(doc, id) {
        return doc.getElementById(id);
    }

    function withTimeout(promise, ms, what) {
        let timer;
        const timeout = new Promise(function (_, reject) {
            timer = setTimeout(function () {
                reject(new Error(what + ' timed out after ' + Math.round(ms / 1000) + ' s'));
            }, ms);
        });
        return Promise.race([promise, timeout]).finally(function () {
            clearTimeout(timer);
        });
    }

    function sleep(ms) {
        return new Promise(function (resolve) {
            setTimeout(resolve, ms);
        });
    }

    /* api(path, {method, body, token}) -> {status, body}; the body is parsed
     * JSON (problem+json included) or null. Network failures and timeouts throw. */
    async function api(path, opts) {
        const o = opts || {};
        const headers = { Accept: 'application/json, application/problem+json' };
        if (o.body !== undefined) {
            headers['Content-Type'] = 'application/json';
        }
        if (o.token) {
            headers.Authorization = 'Bearer ' + o.token;
        }
        const ctl = new AbortController();
        const timer = setTimeout(function () {
            ctl.abort();
        }, FETCH_TIMEOUT_MS);
        let res;
        try {
            res = await fetch(path, {
                method: o.method || 'GET',
                headers: headers,
                body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
                credentials: 'same-origin',
                cache: 'no-store',
                signal: ctl.signal,
            });
        } catch (e) {
            throw new Error(ctl.signal.aborted ?
                'the gateway did not answer ' + path + ' within ' + FETCH_TIMEOUT_MS / 1000 + ' s' :
                'cannot reach the gateway (' + e.message + ')');
        } finally {
            clearTimeout(timer);
        }
        let body = null;
        const type = res.headers.get('Content-Type') || '';
        if (/json/.test(type)) {
            try {
                body = await res.json();
            } catch (e) {
                body = null;
            }
        }
        return { status: res.status, body: body };
    }

    /* problemText(res) -> one line for the user from a problem+json answer. */
    function problemText(res, what) {
        const b = res.body || {};
        const detail = b.detail || b.title || 'HTTP ' + res.status;
        return what + ': ' + detail + ' (HTTP ' + res.status + ')';
    }

    function walletErrorText(e) {
        if (e && e.code === 4001) {
            return 'request rejected in the wallet';
        }
        return (e && e.message) ? e.message : String(e);
    }

    /* ---------------------------------------------------------------- index */
    function startIndex(win, doc) {
        const form = el(doc, 'lookup');
        const input = el(doc, 'stream-id');
        const result = el(doc, 'lookup-result');
        const status = el(doc, 'status');
        form.addEventListener('submit', async function (ev) {
            ev.preventDefault();
            const id = input.value.trim().toLowerCase();
            result.hidden = true;
            if (!UUID_RE.test(id)) {
                status.textContent = 'A stream id is a lowercase UUID, like ' +
                    '0b7c6f4e-5a1d-4c8e-9f21-3d2a6b8e7c10.';
                return;
            }
            status.textContent = 'Looking up the stream…';
            try {
                const res = await api('/v1/streams/' + id);
                if (res.status !== 200 || !res.body) {
                    status.textContent = problemText(res, 'Stream lookup failed');
                    return;
                }
                el(doc, 'lookup-title').textContent = res.body.title || '(untitled)';
                el(doc, 'lookup-status').textContent = res.body.status || '';
                const link = el(doc, 'lookup-link');
                link.href = '/watch/' + id;
                result.hidden = false;
                status.textContent = '';
            } catch (e) {
                status.textContent = 'Stream lookup failed: ' + e.message;
            }
        });
    }

    /* ---------------------------------------------------------------- watch */
    function startWatch(win, doc) {
        const ui = {
            title: el(doc, 'title'),
            meta: el(doc, 'meta'),
            status: el(doc, 'status'),
            error: el(doc, 'error'),
            account: el(doc, 'account'),
            connect: el(doc, 'connect'),
            signin: el(doc, 'signin'),
            gate: el(doc, 'gate'),
            passes: el(doc, 'passes'),
            tipBox: el(doc, 'tip-box'),
            tip: el(doc, 'tip'),
            tipInfo: el(doc, 'tip-info'),
            playerBox: el(doc, 'player-box'),
            video: el(doc, 'video'),
        };
        const st = {
            id: streamIdFromPath(win.location.pathname),
            stream: null,
            address: null,
            chainId: null,
            token: null, // session token: memory only
            requirements: null,
            hls: null,
            busy: false,
        };

        function say(text) {
            ui.status.textContent = text;
        }
        function fail(text) {
            ui.error.textContent = text;
            ui.error.hidden = !text;
        }
        function setBusy(b) {
            st.busy = b;
            for (const btn of doc.querySelectorAll('button[data-action]')) {
                btn.disabled = b;
            }
        }
        async function guarded(fn) {
            if (st.busy) {
                return;
            }
            setBusy(true);
            fail('');
            try {
                await fn();
            } catch (e) {
                fail(walletErrorText(e));
                say('');
            } finally {
                setBusy(false);
                refresh();
            }
        }
        function refresh() {
            ui.connect.hidden = !!st.address;
            ui.signin.hidden = !st.address || !!st.token;
            ui.account.textContent = st.address ?
                'Wallet: ' + st.address + (st.token ? ' (signed in)' : '') : 'No wallet connected.';
        }

        function wallet() {
            const eth = win.ethereum;
            if (!eth || typeof eth.request !== 'function') {
                throw new Error('No Ethereum wallet found: install one that provides ' +
                    'window.ethereum (EIP-1193), then reload.');
            }
            return eth;
        }
        function request(method, params, ms) {
            return withTimeout(wallet().request({ method: method, params: params || [] }),
                ms || WALLET_TIMEOUT_MS, 'wallet ' + method);
        }

        async function loadStream() {
            if (!st.id) {
                fail('This address names no stream: expected /watch/<stream id>.');
                return;
            }
            say('Loading the stream…');
            const res = await api('/v1/streams/' + st.id);
            if (res.status !== 200 || !res.body) {
                fail(problemText(res, 'Cannot load the stream'));
                say('');
                return;
            }
            st.stream = res.body;
            ui.title.textContent = res.body.title || '(untitled stream)';
            doc.title = (res.body.title || 'Stream') + ' · watch';
            ui.meta.textContent = 'Status: ' + (res.body.status || 'unknown');
            say('Connect a wallet and sign in to watch.');
        }

        async function connect() {
            say('Waiting for the wallet…');
            const accounts = await request('eth_requestAccounts');
            if (!Array.isArray(accounts) || accounts.length === 0) {
                throw new Error('the wallet shared no account');
            }
            st.address = toChecksumAddress(accounts[0]);
            const chainHex = await request('eth_chainId');
            st.chainId = parseInt(chainHex, 16);
            if (!Number.isSafeInteger(st.chainId) || st.chainId <= 0) {
                throw new Error("the wallet reported an invalid chain id '" + chainHex + "'");
            }
            st.token = null;
            say('Connected. Sign in to check your access.');
        }

        async function signIn() {
            say('Asking the gateway for a sign-in nonce…');
            const n = await api('/v1/auth/nonce');
            if (n.status !== 200 || !n.body || !n.body.nonce) {
                throw new Error(problemText(n, 'Cannot get a sign-in nonce'));
            }
            const message = siweMessage({
                domain: win.location.host,
                address: st.address,
                statement: SIWE_STATEMENT,
                uri: win.location.origin,
                version: '1',
                chainId: st.chainId,
                nonce: n.body.nonce,
                issuedAt: new Date().toISOString(),
            });
            say('Sign the message in your wallet…');
            const signature = await request('personal_sign', [utf8ToHex(message), st.address]);
            say('Signing in…');
            const res = await api('/v1/auth/siwe', {
                method: 'POST',
                body: { message: message, signature: signature },
            });
            if (res.status !== 200 || !res.body || !res.body.token) {
                throw new Error(problemText(res, 'Sign-in failed'));
            }
            st.token = res.body.token;
            refresh();
            await checkAccess(1);
        }

        /* checkAccess(tries): asks /access, up to `tries` times while it answers
         * 402, then plays (200: returns true) or shows what to buy (402: false). */
        async function checkAccess(tries) {
            for (let attempt = 1; attempt <= tries; attempt++) {
                say('Checking your access…');
                const res = await api('/v1/streams/' + st.id + '/access', { token: st.token });
                if (res.status === 200 && res.body && res.body.playback_url) {
                    ui.gate.hidden = true;
                    say('Access granted (' + (res.body.via || 'allowed') + '). Starting playback…');
                    play(res.body.playback_url);
                    return true;
                }
                if (res.status === 401) {
                    st.token = null;
                    throw new Error(problemText(res, 'Your session has ended; sign in again'));
                }
                if (res.status !== 402 || !res.body || !res.body.requirements) {
                    throw new Error(problemText(res, 'Access check failed'));
                }
                st.requirements = res.body.requirements;
                if (attempt < tries) {
                    await sleep(ACCESS_RETRY_MS);
                }
            }
            showGate(st.requirements);
            return false;
        }

        function showGate(req) {
            stopPlayback();
            ui.passes.textContent = '';
            const passes = Array.isArray(req.passes) ? req.passes : [];
            for (const p of passes) {
                const li = doc.createElement('li');
                const btn = doc.createElement('button');
                btn.type = 'button';
                btn.setAttribute('data-action', 'buy');
                btn.className = 'buy';
                btn.textContent = 'Buy pass · ' + formatEth(p.price_wei);
                btn.setAttribute('aria-label', 'Buy pass for ' + formatEth(p.price_wei) +
                    ' (contract ' + p.contract + ')');
                btn.addEventListener('click', function () {
                    guarded(function () {
                        return buyPass(p);
                    });
                });
                li.appendChild(btn);
                ui.passes.appendChild(li);
            }
            const tipping = req.tip_min_wei !== null && req.tip_min_wei !== undefined;
            ui.tipBox.hidden = !tipping;
            if (tipping) {
                const amount = tipAmountWei(req.tip_min_wei, req.tipped_wei);
                ui.tip.textContent = 'Tip · ' + formatEth(amount);
                ui.tipInfo.textContent = 'Tips of at least ' + formatEth(req.tip_min_wei) +
                    ' in total open this stream; you have tipped ' +
                    formatEth(req.tipped_wei || '0') + '.';
            }
            ui.gate.hidden = false;
            say(passes.length || tipping ?
                'This stream needs a pass or a tip. Choose one below.' :
                'This stream is not open to you, and offers no pass or tip.');
        }

        async function sendAndWait(tx, what) {
            say('Confirm the ' + what + ' in your wallet…');
            const hash = await request('eth_sendTransaction', [tx]);
            if (typeof hash !== 'string' || !BYTES32_RE.test(hash)) {
                throw new Error('the wallet returned no transaction hash');
            }
            say('Waiting for the ' + what + ' to be mined (' + hash.slice(0, 10) + '…)…');
            const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
            while (Date.now() < deadline) {
                const receipt = await request('eth_getTransactionReceipt', [hash], FETCH_TIMEOUT_MS);
                if (receipt && receipt.blockNumber) {
                    if (receipt.status !== '0x1' && receipt.status !== 1) {
                        throw new Error('the ' + what + ' transaction failed on chain (' + hash + ')');
                    }
                    return hash;
                }
                await sleep(RECEIPT_POLL_MS);
            }
            throw new Error('the ' + what + ' was not mined within ' +
                RECEIPT_TIMEOUT_MS / 1000 + ' s (' + hash + ')');
        }

        async function buyPass(p) {
            await sendAndWait({
                from: st.address,
                to: toChecksumAddress(p.contract),
                value: weiToHex(p.price_wei),
                data: MINT_CALLDATA,
            }, 'pass purchase');
            if (!await checkAccess(ACCESS_RETRIES)) {
                throw new Error('The pass was bought, but the gateway still refuses access; ' +
                    'try again in a moment.');
            }
        }

        async function tip() {
            const req = st.requirements;
            const amount = tipAmountWei(req.tip_min_wei, req.tipped_wei);
            const hash = await sendAndWait({
                from: st.address,
                to: toChecksumAddress(req.vault),
                value: weiToHex(amount),
                data: tipCalldata(req.creator_key, req.stream_key),
            }, 'tip');
            say('Crediting the tip…');
            const res = await api('/v1/streams/' + st.id + '/tips', {
                method: 'POST',
                body: { tx_hash: hash },
                token: st.token,
            });
            if (res.status !== 200 && res.status !== 201) {
                throw new Error(problemText(res, 'The gateway did not credit the tip'));
            }
            if (!await checkAccess(ACCESS_RETRIES)) {
                throw new Error('The tip was credited, but it is not enough yet for access.');
            }
        }

        function stopPlayback() {
            if (st.hls) {
                st.hls.destroy();
                st.hls = null;
            }
            ui.playerBox.hidden = true;
        }

        function play(url) {
            stopPlayback();
            ui.playerBox.hidden = false;
            const video = ui.video;
            video.muted = true;
            const Hls = win.Hls;
            if (Hls && Hls.isSupported()) {
                const token = st.token;
                const hls = new Hls({
                    enableWorker: false, // a blob: worker would need a CSP exception
                    xhrSetup: function (xhr, reqUrl) {
                        // Playlist refreshes re-check access: send the session along
                        // (same origin only).
                        if (token && /\.m3u8(\?|$)/.test(reqUrl) &&
                            new URL(reqUrl, win.location.href).origin === win.location.origin) {
                            xhr.setRequestHeader('Authorization', 'Bearer ' + token);
                        }
                    },
                });
                st.hls = hls;
                hls.on(Hls.Events.MANIFEST_PARSED, function () {
                    startVideo(video);
                });
                hls.on(Hls.Events.ERROR, function (_, data) {
                    if (!data.fatal || st.hls !== hls) {
                        return;
                    }
                    const code = data.response && data.response.code;
                    if (code === 401 || code === 402 || code === 403) {
                        say('Playback stopped: access is re-checked…');
                        guarded(function () {
                            return checkAccess(1);
                        });
                    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
                        hls.recoverMediaError();
                    } else {
                        stopPlayback();
                        fail('Playback failed: ' + (data.details || 'unknown error') +
                            (code ? ' (HTTP ' + code + ')' : ''));
                    }
                });
                hls.loadSource(url);
                hls.attachMedia(video);
            } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
                video.src = url; // native HLS (Safari)
                startVideo(video);
            } else {
                fail('This browser cannot play HLS (no Media Source Extensions).');
            }
        }

        function startVideo(video) {
            const p = video.play();
            if (p && typeof p.then === 'function') {
                p.then(function () {
                    say('Playing.');
                }, function (e) {
                    say('Press play to start (' + e.message + ').');
                });
            }
        }

        doc.addEventListener('securitypolicyviolation', function (ev) {
            // hls.js plays through a MediaSource behind a blob: URL, which a
            // policy without "media-src blob:" blocks: say so instead of hanging.
            fail('The page\'s Content-Security-Policy blocked ' + ev.blockedURI.split(':')[0] +
                ' content (' + ev.effectiveDirective + '); playback cannot start.');
        });
        ui.connect.addEventListener('click', function () {
            guarded(connect);
        });
        ui.signin.addEventListener('click', function () {
            guarded(signIn);
        });
        ui.tip.addEventListener('click', function () {
            guarded(tip);
        });
        if (win.ethereum && typeof win.ethereum.on === 'function') {
            const reset = function () {
                st.address = null;
                st.token = null;
                ui.gate.hidden = true;
                stopPlayback();
                refresh();
                say('The wallet changed account or network: connect again.');
            };
            win.ethereum.on('accountsChanged', reset);
            win.ethereum.on('chainChanged', reset);
        }
        refresh();
        guarded(loadStream);
    }

    return {
        keccak256: keccak256,
        toChecksumAddress: toChecksumAddress,
        siweMessage: siweMessage,
        utf8ToHex: utf8ToHex,
        weiToHex: weiToHex,
        tipAmountWei: tipAmountWei,
        tipCalldata: tipCalldata,
        streamIdFromPath: streamIdFromPath,
        formatEth: formatEth,
        MINT_CALLDATA: MINT_CALLDATA,
        TIP_SELECTOR: TIP_SELECTOR,
        SIWE_STATEMENT: SIWE_STATEMENT,
        start: start,
    };
});
