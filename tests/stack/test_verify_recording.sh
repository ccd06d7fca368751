#!/usr/bin/env bash
# test_verify_recording.sh - `rightsctl verify-recording` on its own, with
# packages that this service never saw: the evidence package is written by
# @openzeppelin/merkle-tree (StandardMerkleTree.of and dump()) over segment
# files made here, and anchored with cast (anchorRecording signed by a fresh
# operator key on a vault deployed by `rightsctl deploy`) against the
# runner's anvil. Checked: --help, every bad flag (exit 2, exact message),
# a package not anchored yet (exit 1: recordingRoot is zero), the anchored
# package (exit 0), then one altered file, a missing file, an altered leaf,
# a tree that is not the leaves' tree, another stream's package and another
# vault (exit 1, each named in the report).
set -uo pipefail
cd "$(dirname "$0")/../.."
CTL=$PWD/${BUILD_DIR:-build}/bin/rightsctl
CAST=${TOOLS_BIN:-$PWD/.tools/node_modules/.bin}/cast
: "${ETH_RPC_URL:?set by tests/run.sh}"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/verify.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
source tests/lib/tap.sh
export NODE_PATH=$PWD/.tools/node_modules

ID=0b8e2a1c-5f3d-4c2a-9e1b-7d6f5a4b3c21
verify() { "$CTL" verify-recording "$@" --rpc "$ETH_RPC_URL" >"$tmp/out" 2>"$tmp/err"; }

# ---- --help and bad flags ---------------------------------------------------------
out=$("$CTL" verify-recording --help 2>&1)
rc=$?
[[ $rc -eq 0 && $out == "usage: rightsctl verify-recording --stream ID (--api URL | --evidence FILE)"* ]]
expect "verify-recording --help prints its usage and exits 0" $? "rc=$rc $out"
"$CTL" --help | grep -q "^  verify-recording --stream ID (--api URL | --evidence FILE)"
expect "rightsctl --help lists verify-recording" $? "$("$CTL" --help 2>&1 | tail -n 12)"

bad() { # bad NAME WANT_MESSAGE ARGS...
    local name=$1 msg=$2
    shift 2
    "$CTL" verify-recording "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [[ $rc -eq 2 && ! -s "$tmp/out" ]] && grep -qF -- "msg=\"verify-recording: $msg\"" "$tmp/err"
    expect "refuses $name" $? "rc=$rc want '$msg' got: $(cat "$tmp/err" "$tmp/out")"
}
bad "no flags" "--stream ID is required"
bad "a stream id in capitals" "--stream: '${ID^^}' is not a lowercase UUID" --stream "${ID^^}" --evidence x
bad "neither --api nor --evidence" "give exactly one of --api URL and --evidence FILE" --stream "$ID"
bad "both --api and --evidence" "give exactly one of --api URL and --evidence FILE" --stream "$ID" \
    --api http://h --evidence x
bad "an ftp --api" "--api: 'ftp://h' is not an http:// or https:// URL" --stream "$ID" --api ftp://h
bad "an --rpc with a space" "--rpc: 'http://a b' is not an http:// or https:// URL" --stream "$ID" \
    --evidence x --rpc 'http://a b'
bad "a --media URL with a fragment" "--media: 'http://h/#x' is not an http:// or https:// URL" \
    --stream "$ID" --evidence x --media 'http://h/#x'
bad "a bad --vault" "--vault: '0x12' is not an address" --stream "$ID" --evidence x --vault 0x12
bad "an unknown flag" "unknown argument '--bogus'" --stream "$ID" --bogus 1
bad "a flag given twice" "--stream given twice" --stream "$ID" --stream "$ID"
bad "a flag without its value" "--media needs a value" --stream "$ID" --evidence x --media

# ---- a vault and an operator (fresh key, funded) -----------------------------------
op_addr=$("$CTL" keygen --out "$tmp/op.key" 2>/dev/null)
op_key=$(tr -d '\n' <"$tmp/op.key")
admin=$("$CTL" keygen --out "$tmp/admin.key" 2>/dev/null)
"$CAST" rpc --rpc-url "$ETH_RPC_URL" anvil_setBalance "$op_addr" 0x56bc75e2d63100000 >/dev/null
vault=$(CHAIN_ID=${CHAIN_ID:-31337} OPERATOR_KEY_FILE=$tmp/op.key "$CTL" deploy --admin "$admin" \
    --guardian "$admin" 2>"$tmp/err")
[[ $vault =~ ^0x[0-9a-fA-F]{40}$ ]]
expect "rightsctl deploy gives a vault for the anchors" $? "$vault $(cat "$tmp/err")"

# ---- a package written by @openzeppelin/merkle-tree ---------------------------------
# mk.js OUT ID VAULT TX BLOCK TIME: two renditions x 5 segment files under
# $tmp/media/ID/<r>/index<s>.ts (made once) and their evidence package.
cat >"$tmp/mk.js" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { ethers } = require('ethers');
const [out, id, vault, tx, block, time, media] = process.argv.slice(2);
const renditions = ['hi', 'lo'];
const leaves = [];
const segments = [];
renditions.forEach((r, ri) => {
  fs.mkdirSync(path.join(media, id, r), { recursive: true });
  for (let s = 0; s < 5; s++) {
    const name = `index${s}.ts`;
    const file = path.join(media, id, r, name);
    if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(1000 + 17 * s));
    const bytes = fs.readFileSync(file);
    leaves.push([ri, s, `0x${crypto.createHash('sha256').update(bytes).digest('hex')}`]);
    segments.push({ rendition: ri, sequence: s, name, bytes: bytes.length });
  }
});
const types = ['uint256', 'uint256', 'bytes32'];
const tree = StandardMerkleTree.of(leaves.map((l) => [String(l[0]), String(l[1]), l[2]]), types);
fs.writeFileSync(out, JSON.stringify({
  chain_id: 31337, vault: ethers.getAddress(vault), stream_id: id, stream_key: ethers.id(id),
  root: tree.root, tx_hash: tx, block_number: Number(block), block_timestamp: Number(time),
  renditions, leaf_types: types, leaves, segments, tree: tree.dump(),
}));
process.stdout.write(`${tree.root} ${leaves.length}\n`);
EOF
zero_tx=0x$(printf '0%.0s' {1..64})
read -r root count < <(node "$tmp/mk.js" "$tmp/ev.json" "$ID" "$vault" "$zero_tx" 0 0 "$tmp/media")
[[ $root =~ ^0x[0-9a-f]{64}$ && $count == 10 ]]
expect "OZ writes a package of 10 leaves" $? "root=$root count=$count"

verify --stream "$ID" --evidence "$tmp/ev.json" --media "$tmp/media"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^ok   the root of the 10 leaves is the package's root ($root)" "$tmp/out" &&
    grep -q "^ok   the package's tree is the OpenZeppelin StandardMerkleTree dump" "$tmp/out" &&
    grep -q "^ok   10 segment files re-hashed under $tmp/media: 0 differ" "$tmp/out" &&
    grep -q "^FAIL vault .*: recordingRoot(streamKey) on chain is 0x0\{64\} (never anchored)$" "$tmp/out"
expect "not anchored yet: the package and files hold, recordingRoot is zero: exit 1" $? \
    "rc=$rc $(cat "$tmp/out" "$tmp/err")"

# ---- anchored with cast, then verified -----------------------------------------------
stream_key=$("$CAST" keccak "$ID")
tx=$("$CAST" send --json --private-key "$op_key" --rpc-url "$ETH_RPC_URL" "$vault" \
    'anchorRecording(bytes32,bytes32,uint256)' "$stream_key" "$root" 10 2>"$tmp/err" |
    node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(r.transactionHash, String(BigInt(r.blockNumber)), r.status)')
read -r tx_hash block status <<<"$tx"
time=$("$CAST" block --rpc-url "$ETH_RPC_URL" "$block" --field timestamp 2>&1)
[[ $status == 0x1 && $tx_hash =~ ^0x[0-9a-f]{64}$ && $time =~ ^[0-9]+$ ]]
expect "cast anchors the root with the operator key" $? "tx=$tx time=$time $(cat "$tmp/err")"
node "$tmp/mk.js" "$tmp/ev.json" "$ID" "$vault" "$tx_hash" "$block" "$time" "$tmp/media" >/dev/null

verify --stream "$ID" --evidence "$tmp/ev.json" --media "$tmp/media" --vault "${vault,,}"
rc=$?
[[ $rc -eq 0 ]] && ! grep -q "^FAIL" "$tmp/out" &&
    grep -q "^ok   vault .*: recordingRoot(streamKey) on chain is $root, the package's root$" "$tmp/out" &&
    grep -q "^ok   the anchor transaction $tx_hash succeeded in block $block with the vault's RecordingAnchored(streamKey, root, 10)$" "$tmp/out" &&
    grep -q "^ok   block $block has timestamp $time" "$tmp/out" &&
    grep -q "^verified: 10 segments anchored on chain 31337 in block $block, every file matches$" "$tmp/out"
expect "anchored: every check holds, exit 0" $? "rc=$rc $(cat "$tmp/out" "$tmp/err")"

# ---- discrepancies --------------------------------------------------------------------
victim=$tmp/media/$ID/lo/index3.ts
cp "$victim" "$tmp/victim.bak"
printf '\x01' | dd of="$victim" bs=1 seek=500 conv=notrunc 2>/dev/null
verify --stream "$ID" --evidence "$tmp/ev.json" --media "$tmp/media"
rc=$?
fails=$(grep -c "^FAIL " "$tmp/out")
[[ $rc -eq 1 && $fails -eq 2 ]] &&
    grep -q "^FAIL segment rendition 1 (lo) sequence 3 file $victim: sha256 0x[0-9a-f]\{64\}, the leaf says 0x[0-9a-f]\{64\}$" "$tmp/out" &&
    grep -q "^FAIL 10 segment files re-hashed under $tmp/media: 1 differ; the root rebuilt from the files is NOT the package's root$" "$tmp/out" &&
    grep -q "^FAILED: 2 discrepancies$" "$tmp/out"
expect "one byte of one file altered: exit 1 naming rendition 1 (lo), sequence 3 and its file, alone" $? \
    "rc=$rc fails=$fails $(cat "$tmp/out")"
cp "$tmp/victim.bak" "$victim"

mv "$tmp/media/$ID/hi/index0.ts" "$tmp/gone.ts"
verify --stream "$ID" --evidence "$tmp/ev.json" --media "$tmp/media"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL segment rendition 0 (hi) sequence 0 file $tmp/media/$ID/hi/index0.ts: cannot read it: No such file or directory$" "$tmp/out"
expect "a missing file: exit 1 naming it" $? "rc=$rc $(cat "$tmp/out")"
mv "$tmp/gone.ts" "$tmp/media/$ID/hi/index0.ts"

edit() { # edit OUT JS-EXPRESSION-ON-e: a copy of the package changed by the expression
    node -e 'const fs = require("fs"); const e = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        eval(process.argv[3]); fs.writeFileSync(process.argv[2], JSON.stringify(e));' "$tmp/ev.json" "$1" "$2"
}
edit "$tmp/leaf.json" 'e.leaves[4][2] = "0x" + "22".repeat(32)'
verify --stream "$ID" --evidence "$tmp/leaf.json"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL the root of the 10 leaves is the package's root" "$tmp/out" &&
    grep -q "^ok   vault .*, the package's root$" "$tmp/out"
expect "a leaf altered in the package: exit 1 (its leaves no longer give the root)" $? "rc=$rc $(cat "$tmp/out")"

edit "$tmp/tree.json" 'const v = e.tree.values; [v[0].treeIndex, v[1].treeIndex] = [v[1].treeIndex, v[0].treeIndex]'
verify --stream "$ID" --evidence "$tmp/tree.json"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL the package's tree is the OpenZeppelin StandardMerkleTree dump" "$tmp/out" &&
    grep -q "^ok   the root of the 10 leaves is the package's root" "$tmp/out"
expect "a tree dump that is not the leaves' tree: exit 1" $? "rc=$rc $(cat "$tmp/out")"

other=0b8e2a1c-5f3d-4c2a-9e1b-7d6f5a4b3c22
verify --stream "$other" --evidence "$tmp/ev.json"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL the package is for stream $other" "$tmp/out"
expect "another stream's package: exit 1" $? "rc=$rc $(cat "$tmp/out")"

verify --stream "$ID" --evidence "$tmp/ev.json" --vault 0x000000000000000000000000000000000000dEaD
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL the package names vault" "$tmp/out"
expect "--vault naming another vault: exit 1" $? "rc=$rc $(cat "$tmp/out")"

printf '{"chain_id": 1, "chain_id": 2}' >"$tmp/dup.json"
verify --stream "$ID" --evidence "$tmp/dup.json"
rc=$?
[[ $rc -eq 1 ]] && grep -q "^FAIL the evidence package: the evidence is not a JSON object" "$tmp/out"
expect "a package with a duplicate key is refused: exit 1" $? "rc=$rc $(cat "$tmp/out")"

tap_finish
