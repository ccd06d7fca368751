#!/usr/bin/env bash
# tests/fuzz/gen_corpus.sh - writes the seed corpus tests/fuzz/corpus/<target>/.
#
# Each target reads byte 0 as its mode (see the comment at the top of
# tests/fuzz/fuzz_<target>.c; fuzz_abi reads a 16-byte type header). Valid
# inputs come from the independent vectors in tests/vectors/ (cast, OZ
# merkle-tree) or are written out here; invalid ones are small edits of them.
# Regression inputs for bugs that fuzzing found are kept at the end, so that
# a regeneration never drops them. Needs xxd and jq. Run from anywhere:
#   bash tests/fuzz/gen_corpus.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=tests/fuzz/corpus
V=tests/vectors
rm -rf "$OUT"

bin() { # bin TARGET NAME HEX: writes the bytes of HEX
    mkdir -p "$OUT/$1"
    printf '%s' "$3" | xxd -r -p >"$OUT/$1/$2"
}
txt() { # txt TARGET NAME MODE_HEX TEXT: writes the mode byte, then TEXT as is
    mkdir -p "$OUT/$1"
    { printf '%s' "$3" | xxd -r -p; printf '%s' "$4"; } >"$OUT/$1/$2"
}
tx_raw() { # tx_raw NAME: cast's raw transaction hex (no 0x) from tx_cast.txt
    awk -v n="name=$1" '$1 == "tx" { ok = 0; for (i = 2; i <= NF; i++) if ($i == n) ok = 1;
        if (ok) for (i = 2; i <= NF; i++) if ($i ~ /^raw=0x/) print substr($i, 7) }' "$V/tx_cast.txt"
}
abi_enc() { # abi_enc KIND NAME: encoding hex (no 0x; calldata without the selector)
    awk -v k="$1" -v n="$2" '$1 == k && $2 == n { h = substr($3, 3);
        if (k == "calldata") h = substr(h, 9); print h }' "$V/abi_cast.txt"
}
word() { # word HEX: left-padded to a 32-byte word
    printf '%064s' "$1" | tr ' ' 0
}
merkle() { # merkle TREE JQ_EXPR: hex strings without 0x, concatenated
    jq -r --arg t "$1" ".trees[] | select(.name == \$t) | $2" "$V/merkle_oz.json" |
        sed 's/^0x//' | tr -d '\n'
}

# ---- hex: byte 0 bit 0 = exact, bit 1 = room for everything ---------------------------
txt hex valid_lower 02 0xdeadbeef
txt hex valid_upper_noprefix 02 DEADBEEF00
txt hex valid_0X 02 0X0aFf
txt hex empty 02 ""
txt hex odd 02 0xabc
txt hex bad_digit 02 0xzz12
txt hex too_long_for_cap 04 0x001122
txt hex tx_raw 02 "0x$(tx_raw call_transfer)"
txt hex exact_address 03 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
txt hex exact_wrong_length 29 0x0011
txt hex exact_bad_digit 03 0xg0

# ---- address: even = text, odd = 20 bytes + position -----------------------------------
n=0
while read -r lower sum; do
    [[ $lower == \#* ]] && continue
    n=$((n + 1))
    ((n > 6)) && break
    txt address "eip55_$n" 00 "$sum"
done <"$V/eip55_cast.txt"
txt address lowercase 00 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed
txt address uppercase 00 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED
txt address bad_checksum 00 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD
txt address no_prefix 00 5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00
txt address prefix_0X 00 0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
txt address too_short 00 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe
txt address too_long 00 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0
txt address bad_digit 00 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg
bin address flip_case 015aaeb6053f3e94c9b9a09f33669435e7ef1beaed07

# ---- u256: bit 0 = hex ---------------------------------------------------------------
U256_MAX=115792089237316195423570985008687907853269984665640564039457584007913129639935
txt u256 dec_zero 00 0
txt u256 dec_one 00 1
txt u256 dec_max 00 "$U256_MAX"
txt u256 dec_max_plus_one 00 115792089237316195423570985008687907853269984665640564039457584007913129639936
txt u256 dec_79_digits 00 1000000000000000000000000000000000000000000000000000000000000000000000000000000
txt u256 dec_leading_zero 00 007
txt u256 dec_empty 00 ""
txt u256 dec_bad_digit 00 12a
txt u256 dec_sign 00 -1
txt u256 hex_zero 01 0x0
txt u256 hex_small 01 0x1a
txt u256 hex_max 01 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
txt u256 hex_65_digits 01 0x10000000000000000000000000000000000000000000000000000000000000000
txt u256 hex_no_digits 01 0x
txt u256 hex_no_prefix 01 1a
txt u256 hex_prefix_0X 01 0X1a
txt u256 hex_leading_zeros 01 0x00ff

# ---- rlp: byte 0 = small list cap (bits 0-3), raw-list mode (bit 7) ------------------------
for t in transfer call_claim create; do
    bin rlp "tx_$t" "83$(tx_raw $t | cut -c3-)"
done
bin rlp dog 8383646f67
bin rlp cat_dog 81c88363617483646f67
bin rlp empty_string 8080
bin rlp empty_list 80c0
bin rlp byte_00 8000
bin rlp int_1024 808204 # truncated on purpose: 0x82 needs two bytes
bin rlp int_0400 80820400
bin rlp set_theory 82c7c0c1c0c3c0c1c0
bin rlp lorem 80b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974
bin rlp non_canonical_byte 808105
bin rlp non_canonical_long 80b80568656c6c6f
bin rlp long_form_for_55 80b837$(printf '61%.0s' {1..55})
bin rlp list_long_form_for_55 80f837$(printf '61%.0s' {1..55})
bin rlp short_form_55 80b7$(printf '61%.0s' {1..55})
bin rlp long_leading_zero 80b9003868656c6c6f
bin rlp trailing 808080
bin rlp list_truncated 80c3808080ff
bin rlp many_items 05d4$(printf '01%.0s' {1..20})
bin rlp depth_16 80$(printf 'c%x' {15..1})c0
bin rlp depth_17 80$(printf '%02x' $(seq 208 -1 193))c0

# ---- abi: 16-byte header (count, then type codes), then the data -------------------------
# codes: 1 uint256, 2 address, 3 bytes32, 4 bool, 5 uint8, 6 bytes, 7 string,
# 8 bytes32[], 9 tuple (next byte: item count), 14/15 invalid types.
abi() { # abi NAME HEADER_HEX DATA_HEX: the header is zero-padded to 16 bytes
    bin abi "$1" "$(printf '%-32s' "$2" | tr ' ' 0)$3"
}
abi mixed 06010208060704 "$(abi_enc encode mixed)"
abi static 050102030405 "$(abi_enc encode static)"
abi empty_dynamic 03060708 "$(abi_enc encode empty_dynamic)"
abi settlement_leaf 020201 "$(abi_enc encode settlement_leaf)"
abi bytes_padding 03060606 "$(abi_enc encode bytes_padding)"
abi string_unicode 0107 "$(abi_enc encode string_unicode)"
abi static_tuple 03090201020409020305 "$(abi_enc encode static_tuple)"
abi array_five 03050801 "$(abi_enc encode array_five)"
abi long_string 020706 "$(abi_enc encode long_string)"
abi dynamic_middle 03080207 "$(abi_enc encode dynamic_middle)"
abi call_claim 0403020108 "$(abi_enc calldata claim)"
abi call_deposit 03030502 "$(abi_enc calldata deposit)"
abi dirty_bool 0104 "$(word 02)"
abi dirty_address 0102 "$(word 01000000000000000000000000000000000000000000)"
abi bad_offset 0106 "$(word 40)$(word 00)"
abi unaligned_offset 0106 "$(word 21)$(word 00)$(word 00)"
abi dirty_padding 0106 "$(word 20)$(word 01)ab$(printf '%062s' 1 | tr ' ' 0)"
abi unaligned_length 0101 "$(word 01)ff"
abi tuple_too_deep 01090109010901090109 "$(word 01)"
abi dynamic_in_tuple 01090106 "$(word 20)$(word 00)"
abi invalid_type 010e "$(word 00)"
abi topic_address 8002 "$(word f39fd6e51aad88f6f4ce6ab8827279cfffb92266)"
abi topic_uint8_dirty 8005 "$(word 0100)"
abi topic_bytes 8006 "$(word 00)"

# ---- tx: bit 0 = also re-sign with the test key ------------------------------------------
for t in transfer call_claim create value_u256_max chain_1; do
    bin tx "$t" "01$(tx_raw $t)"
done
bin tx no_resign_call_transfer "00$(tx_raw call_transfer)"
bin tx legacy 00f86c808504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83
bin tx type_01 0001c0
bin tx truncated "00$(tx_raw transfer | cut -c1-100)"
bin tx empty 00
bin tx access_list 0002f875827a6980843b9aca0084773594008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c1c080a074128fd7d42631897474d93692787a2e56b813754468caaca4993c641c986a37a06d5a3b027177cc2841199b70400fece0a29ac5eabee2fa9cbf9b6aa213716c48
bin tx parity_2 0002f874827a6980843b9aca0084773594008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c002a074128fd7d42631897474d93692787a2e56b813754468caaca4993c641c986a37a06d5a3b027177cc2841199b70400fece0a29ac5eabee2fa9cbf9b6aa213716c48
bin tx fees_inverted 0102f874827a6980847735940084773593ff8252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c080a074128fd7d42631897474d93692787a2e56b813754468caaca4993c641c986a37a06d5a3b027177cc2841199b70400fece0a29ac5eabee2fa9cbf9b6aa213716c48

# ---- sig: even = recover hash || r || s || v, odd = sign with key || hash ------------------------
N=fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141
i=0
while read -r kind key _ rest; do
    [[ $kind == personal || $kind == raw ]] || continue
    i=$((i + 1))
    ((i % 8 == 1)) || continue
    set -- $rest
    if [[ $kind == personal ]]; then hash=${2#0x} sig=${3#0x}; else hash=${1#0x} sig=${2#0x}; fi
    bin sig "recover_$i" "00$hash$sig"
    bin sig "sign_$i" "01${key#0x}$hash"
done <"$V/sig_cast.txt"
r=${sig:0:64} s=${sig:64:64}
bin sig recover_v0 "00$hash$r${s}00"
bin sig bad_v "00$hash$r${s}1d"
bin sig r_zero "00$hash$(word 00)${s}1b"
bin sig r_is_n "00$hash$N${s}1c"
bin sig s_is_n "00$hash$r${N}1b"
bin sig s_high "00$hash${r}7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a11b"
bin sig key_zero "01$(word 00)$hash"
bin sig key_n "01$N$hash"
bin sig key_n_minus_1 "01fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140$hash"

# ---- rpc_response: bit 0 batch, bits 1-2 id, bits 3-4 batch size - 1 --------------------------
R='"jsonrpc":"2.0"'
txt rpc_response ok 02 "{$R,\"id\":1,\"result\":\"0x7a69\"}"
txt rpc_response null_result 02 "{$R,\"id\":1,\"result\":null}"
txt rpc_response remote 02 "{$R,\"id\":1,\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}}"
txt rpc_response reverted 02 "{$R,\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted: no\",\"data\":\"0x08c379a000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000002\"}}"
txt rpc_response error_id_null 02 "{$R,\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}"
txt rpc_response id_mismatch 02 "{$R,\"id\":2,\"result\":1}"
txt rpc_response both 02 "{$R,\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}"
txt rpc_response malformed 02 "{$R,\"id\":1,\"result\":"
txt rpc_response deep 02 "{$R,\"id\":1,\"result\":$(printf '[%.0s' {1..70})$(printf ']%.0s' {1..70})}"
txt rpc_response block 02 "{$R,\"id\":1,\"result\":{\"number\":\"0x1b4\",\"baseFeePerGas\":\"0x3b9aca00\",\"transactions\":[]}}"
txt rpc_response reverted_long_data 02 "{$R,\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted\",\"data\":\"0x$(printf 'ab%.0s' {1..2100})\"}}"
txt rpc_response batch_ok 0b "[{$R,\"id\":2,\"result\":\"0x1\"},{$R,\"id\":1,\"result\":{\"baseFeePerGas\":\"0x7\"}}]"
txt rpc_response batch_remote 0b "[{$R,\"id\":1,\"result\":\"0x1\"},{$R,\"id\":2,\"error\":{\"code\":3,\"message\":\"execution reverted\",\"data\":{\"data\":\"0x\"}}}]"
txt rpc_response batch_whole_error 0b "{$R,\"id\":null,\"error\":{\"code\":-32600,\"message\":\"invalid request\"}}"
txt rpc_response batch_not_array 0b 1
txt rpc_response batch_duplicate 0b "[{$R,\"id\":1,\"result\":1},{$R,\"id\":1,\"result\":2}]"
txt rpc_response batch_missing 1b "[{$R,\"id\":1,\"result\":1},{$R,\"id\":3,\"result\":2}]"

# ---- rpc_receipt: bit 0 = whole response -------------------------------------------------------
H=0x$(printf 'ab%.0s' {1..32})
A=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
RC="\"transactionHash\":\"$H\",\"blockHash\":\"$H\",\"blockNumber\":\"0x1\",\"transactionIndex\":\"0x0\",\"status\":\"0x1\",\"gasUsed\":\"0x5208\",\"cumulativeGasUsed\":\"0x5208\",\"from\":\"$A\""
LOGS="\"logs\":[{\"address\":\"$A\",\"topics\":[\"$H\"],\"data\":\"0x\"}]"
txt rpc_receipt call 00 "{$RC,\"to\":\"$A\",\"contractAddress\":null,\"effectiveGasPrice\":\"0x3b9aca00\",$LOGS,\"type\":\"0x2\"}"
txt rpc_receipt create 00 "{$RC,\"to\":null,\"contractAddress\":\"$A\",\"logs\":[]}"
txt rpc_receipt response 01 "{$R,\"id\":1,\"result\":{$RC,\"to\":\"$A\",\"effectiveGasPrice\":\"0x1\",$LOGS}}"
txt rpc_receipt pending 01 "{$R,\"id\":1,\"result\":null}"
txt rpc_receipt null 00 null
txt rpc_receipt missing_logs 00 "{$RC,\"to\":\"$A\"}"
txt rpc_receipt bad_hash 00 "{$RC,\"transactionHash\":\"0xab\",\"logs\":[]}"
txt rpc_receipt quantity_17_digits 00 "{$RC,\"blockNumber\":\"0x10000000000000000\",\"logs\":[]}"
txt rpc_receipt not_object 00 "[1,\"0x2\"]"

# ---- merkle: even = leaf || root || proof, odd = tree of (byte 0 >> 1) & 15 leaves --------
for t in settlement-7 recording-3; do
    bin merkle "proof_$t" "00$(merkle $t '.leaves[1].hash')$(merkle $t .root)$(merkle $t '.leaves[1].proof[]')"
done
p=$(merkle settlement-7 '.leaves[2].proof[]')
bin merkle proof_wrong_root "00$(merkle settlement-7 '.leaves[2].hash')$(merkle settlement-3 .root)$p"
bin merkle proof_empty "00$(merkle settlement-1 '.leaves[0].hash')$(merkle settlement-1 .root)"
bin merkle proof_too_long "00$(word 01)$(word 02)$(printf '%064d' $(seq 1 65) | tr ' ' 0)"
bin merkle tree_7 "0f$(merkle settlement-7 '.leaves[].hash')"
bin merkle tree_1 "03$(merkle recording-1 '.leaves[].hash')"
bin merkle tree_duplicate "05$(word 07)$(word 07)"
bin merkle tree_empty 01

# ---- config: bit 0 = the project table ---------------------------------------------------------
txt config valid 00 $'S=hello\nI=-42\nU=31337\nURL=https://example.com/rpc\nP=var/x\nA=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\nB=yes\nD=5s\nH=[::1]:8080\nL=debug\nSEC=supersecret\nSECURL=https://u:p@h/\nREQ=3'
txt config invalid 00 $'S=x\nI=99999\nU=0\nURL=ftp://x\nP=a\x01b\nA=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\nB=maybe\nD=5d\nH=host\nL=trace\nSEC=abc\nSECURL=gopher://secret@x'
txt config defaults 00 $'REQ=0\nI=\nURL='
txt config duplicates 00 $'U=1\nU=2\nREQ=10\nREQ=11'
txt config limits 00 $'I=-1000\nU=9007199254740992\nD=1h\nH=a:65535\nREQ=18446744073709551616'
txt config empty 00 ""
txt config too_long 00 "S=$(printf 'a%.0s' {1..4100})"$'\nREQ=1'
txt config app 01 $'DATABASE_URL=postgres://u:p@localhost/db\nETH_RPC_URL=http://127.0.0.1:8545\nCHAIN_ID=1\nVAULT_ADDRESS=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\nCONFIRMATIONS=12\nGATEWAY_LISTEN=0.0.0.0:80\nLOG_LEVEL=warn'
txt config app_invalid 01 $'DATABASE_URL=a\x7fb\nCHAIN_ID=0\nCONFIRMATIONS=1001\nGATEWAY_LISTEN=:80\nSETTLEMENT_LISTEN=[::1]:0\nLOG_LEVEL=INFO'

# ---- regressions (inputs that once crashed or broke a property): none so far -------------------
