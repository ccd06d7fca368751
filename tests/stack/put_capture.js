// put_capture.js DIR - a tiny HTTP server that records what an HLS encoder
// (ffmpeg -f hls -method PUT) sends it: a test receiver for
// tests/stack/test_publish.sh, not a stand-in for the gateway.
//
// Listens on 127.0.0.1 on a free port and writes that port to DIR/port once
// it is listening. Every request is appended to DIR/requests.jsonl as
// {"method", "path", "authorization", "bytes"}; the body of a PUT or POST to
// /ingest/<safe path> is stored under DIR/files/<path> (the last upload of a
// path wins) and answered 201. A GET of /ingest/<id> (the ingest-key
// preflight of rightsctl publish) is answered 204 when its Authorization is
// "Bearer " + DIR/accept-key (a file the test writes), else 401. Anything else
// is answered 400. Each body is capped at 64 MiB. Stops on SIGTERM or SIGINT.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const BODY_BYTES_MAX = 64 * 1024 * 1024;
const SAFE_PATH = /^\/ingest(\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}){1,4}$/;

const dir = process.argv[2];
if (!dir) {
    console.error('usage: node put_capture.js DIR');
    process.exit(2);
}
const logPath = path.join(dir, 'requests.jsonl');

function finish(req, res, status, bytes) {
    const entry = {
        method: req.method,
        path: req.url,
        authorization: req.headers.authorization ?? null,
        bytes,
        status,
    };
    fs.appendFileSync(logPath, JSON.stringify(entry) + '\n');
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
}

const server = http.createServer((req, res) => {
    const chunks = [];
    let bytes = 0;
    req.on('data', (c) => {
        bytes += c.length;
        if (bytes <= BODY_BYTES_MAX) chunks.push(c);
    });
    req.on('end', () => {
        if (req.method === 'GET' && /^\/ingest\/[0-9a-f-]{36}$/.test(req.url)) {
            let key = null;
            try {
                key = fs.readFileSync(path.join(dir, 'accept-key'), 'utf8').trim();
            } catch (err) {
                key = null;
            }
            return finish(req, res, key && req.headers.authorization === `Bearer ${key}` ? 204 : 401, 0);
        }
        const ok = (req.method === 'PUT' || req.method === 'POST') && SAFE_PATH.test(req.url) &&
            !req.url.includes('..') && bytes <= BODY_BYTES_MAX;
        if (!ok) return finish(req, res, 400, bytes);
        const file = path.join(dir, 'files', req.url);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, Buffer.concat(chunks));
        finish(req, res, 201, bytes);
    });
});
server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(path.join(dir, 'port.tmp'), String(server.address().port));
    fs.renameSync(path.join(dir, 'port.tmp'), path.join(dir, 'port'));
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
