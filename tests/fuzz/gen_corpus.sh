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

# ---- json: bits 0-1 limits (0 default, 1 small, 2 tiny, 3 maxima), bit 2 table with "o" -------
JA=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
txt json valid 00 "{\"a\":\"caf\\u00e9\",\"n\":-5,\"w\":\"115792089237316195423570985008687907853269984665640564039457584007913129639935\",\"h\":\"0xdeadbeef\",\"addr\":\"$JA\",\"b\":true,\"l\":[0,9],\"arr\":[{\"x\":false,\"y\":\"abcd\"}],\"obj\":{\"x\":true}}"
txt json minimal 00 '{"a":"x"}'
txt json null_decimal 00 '{"a":"x","w":null}'
txt json open_object 04 '{"a":"x","o":{"k":[1,2.5e3,"s",{"t":null}],"e":{}}}'
txt json small_ok 01 '{"a":"abcd","l":[1,2,3],"obj":{"x":true,"y":"z"}}'
txt json tiny_ok 02 '{"a":"abc","b":false}'
txt json maxima 03 "{\"a\":\"x\",\"o\":$(printf '[%.0s' {1..60})$(printf ']%.0s' {1..60})}"
txt json too_large 02 "{\"a\":\"$(printf 'x%.0s' {1..80})\"}"
txt json too_deep 01 '{"a":"x","o":{"p":[[[1]]]}}'
txt json deep_65 07 "{\"a\":\"x\",\"o\":$(printf '[%.0s' {1..65})$(printf ']%.0s' {1..65})}"
txt json string_long 01 '{"a":"x","o":{"k":"0123456789abcdefg"}}'
txt json string_escapes 05 '{"a":"\u00e9\ud83d\ude00\n\"\\/","o":{"k":"\u4e2d\u6587"}}'
txt json key_long 05 '{"a":"x","o":{"0123456789abcdefg":1}}'
txt json items_many 05 '{"a":"x","o":{"k":[1,2,3,4,5]}}'
txt json members_many 05 '{"a":"x","o":{"k":1,"l":2,"m":3,"n":4,"p":5}}'
txt json nul_value 00 '{"a":"x\u0000y"}'
txt json nul_key 04 '{"a":"x","o":{"\u0000":1}}'
txt json bad_utf8 00 "$(printf '{"a":"\xff"}')"
txt json overlong_utf8 00 "$(printf '{"a":"\xc0\xaf"}')"
txt json surrogate_utf8 00 "$(printf '{"a":"\xed\xa0\x80"}')"
txt json lone_surrogate 00 '{"a":"\ud800"}'
txt json duplicate 00 '{"a":"x","a":"y"}'
txt json duplicate_escaped 04 '{"a":"x","o":{"ab":1,"a\u0062":2}}'
txt json not_object 00 '[{"a":"x"}]'
txt json scalar 00 '"a"'
txt json empty 00 ''
txt json malformed 00 '{"a":"x",}'
txt json unknown 00 '{"a":"x","z":1}'
txt json unknown_nested 00 '{"a":"x","obj":{"x":true,"q":1}}'
txt json missing 00 '{"n":1}'
txt json missing_nested 00 '{"a":"x","arr":[{"x":true},{"y":"a"}]}'
txt json wrong_type 00 '{"a":"x","l":{}}'
txt json wrong_item 00 '{"a":"x","l":[1,"2"]}'
txt json real_for_int 00 '{"a":"x","n":1.0}'
txt json int_range 00 '{"a":"x","n":101}'
txt json decimal_leading_zero 00 '{"a":"x","w":"01"}'
txt json decimal_too_big 00 '{"a":"x","w":"115792089237316195423570985008687907853269984665640564039457584007913129639936"}'
txt json hex_long 00 '{"a":"x","h":"0x0011223344"}'
txt json hex_odd 00 '{"a":"x","h":"0x123"}'
txt json address_checksum 00 '{"a":"x","addr":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}'
txt json array_long 00 '{"a":"x","l":[1,2,3,4]}'
txt json string_empty 00 '{"a":""}'

# ---- playlist: bits 0-2 token, bits 3-6 media segment array size (0-15) -----------------------
# ffmpeg 5.1 output captured as is (-f hls, -var_stream_map, -hls_segment_type fmp4,
# -hls_list_size 2 -hls_flags omit_endlist, agroup), then hand-made shapes and errors.
STREAM_INF='#EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=160x120,CODECS="avc1.f4000a,mp4a.40.2"'
txt playlist ffmpeg_master 00 $'#EXTM3U\n#EXT-X-VERSION:3\n'"$STREAM_INF"$'\n0/index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=96x72,CODECS="avc1.f4000a,mp4a.40.2"\n1/index.m3u8\n'
txt playlist ffmpeg_master_fmp4 01 $'#EXTM3U\n#EXT-X-VERSION:7\n'"$STREAM_INF"$'\n0/index.m3u8\n'
txt playlist ffmpeg_master_dot 02 $'#EXTM3U\n#EXT-X-VERSION:3\n'"$STREAM_INF"$'\n./0/index.m3u8\n'
txt playlist ffmpeg_audio_group 03 $'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=75900,CODECS="mp4a.40.2",AUDIO="group_aud"\naudio/index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=64x48,CODECS="avc1.f4000a,mp4a.40.2",AUDIO="group_aud"\n360p/index.m3u8\n'
txt playlist ffmpeg_media_ts 18 $'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:1.000000,\nindex0.ts\n#EXTINF:1.000000,\nindex1.ts\n#EXTINF:1.000000,\nindex2.ts\n#EXT-X-ENDLIST\n'
txt playlist ffmpeg_media_fmp4 21 $'#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.000000,\nindex0.m4s\n#EXTINF:1.000000,\nindex1.m4s\n#EXTINF:1.000000,\nindex2.m4s\n#EXT-X-ENDLIST\n'
txt playlist ffmpeg_live_window 12 $'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:1.000000,\nlive2.ts\n#EXTINF:1.000000,\nlive3.ts\n'
txt playlist crlf_no_final_newline 7c $'#EXTM3U\r\n# comment\r\n#EXT-X-TARGETDURATION:6\r\n#EXT-X-MEDIA-SEQUENCE:41\r\n#EXT-X-KEY:METHOD=NONE\r\n#EXTINF:5.005,title\r\na_1.ts\r\n#EXT-X-DISCONTINUITY\r\n#EXTINF:6\r\nb-2.ts'
txt playlist rewrite_shapes 00 $'#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="xURI=y",URI="audio/index.m3u8"\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="0/iframe.m3u8"\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key?id=1"\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8?v=2\n#EXT-X-MAP:URI="init.mp4#frag"\n#EXTINF:1,\nseg.ts#t=1\n'
txt playlist uri_token_lookalike 00 $'#EXTM3U\n# x?token=t"\n#EXTINF:1,\na.ts?token=t\n#EXT-X-MAP:URI="i?token=t"\n'
txt playlist absolute_uri 00 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://evil.example/a.ts\n'
txt playlist absolute_map 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="//evil.example/init.mp4"\n'
txt playlist empty_uri_attr 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SESSION-DATA:DATA-ID="x",URI=""\n#EXTINF:2,\na.ts\n'
txt playlist traversal 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n../other/a.ts\n'
txt playlist byterange 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:100@0\na.ts\n'
txt playlist encrypted 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="k.key"\n#EXTINF:2,\na.ts\n'
txt playlist bad_attrs 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4",\n'
txt playlist duplicate_target 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-TARGETDURATION:2\n'
txt playlist sequence_late 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n'
txt playlist segment_after_end 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-ENDLIST\n#EXTINF:2,\na.ts\n'
txt playlist extinf_without_uri 08 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n'
txt playlist duration_edges 78 $'#EXTM3U\n#EXT-X-TARGETDURATION:86400\n#EXT-X-MEDIA-SEQUENCE:4611686018427387904\n#EXTINF:86400.000000,\na.ts\n#EXTINF:0.0000009,\nb.ts\n'
txt playlist master_duplicate 00 $'#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n0/other.m3u8\n'
txt playlist master_iframe 00 $'#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="0/i.m3u8"\n'
txt playlist control_byte 00 $'#EXTM3U\n#EXTINF:1,\na\tb.ts\n'
txt playlist not_m3u 00 $'#EXTM3U8\n'
txt playlist empty 00 ''

# ---- path: bit 0 = a valid stream id and '/' go in front of the rest -----------------------------
PID=0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b
txt path master 00 "$PID/master.m3u8"
txt path media 00 "$PID/0/index.m3u8"
txt path segment 00 "$PID/720p/index12.ts"
txt path init 00 "$PID/0/init.mp4"
txt path m4s 01 0/seg_1.m4s
txt path vtt 01 subs/x.vtt
txt path longest 01 "$(printf 'r%.0s' {1..32})/$(printf 's%.0s' {1..64}).m3u8"
txt path long_stem 01 "0/$(printf 's%.0s' {1..65}).ts"
txt path long_rendition 01 "$(printf 'r%.0s' {1..33})/a.ts"
txt path too_long 01 "$(printf 'a%.0s' {1..140})"
txt path dotdot 00 "$PID/../x/index.m3u8"
txt path dot 01 ./index.m3u8
txt path hidden 01 0/.index.ts
txt path dots_in_name 01 0/index..ts
txt path encoded 01 %2e%2e/master.m3u8
bin path nul 01"$(printf '0/index.ts' | xxd -p)00$(printf '.m3u8' | xxd -p)"
txt path backslash 01 '0\index.m3u8'
txt path absolute 00 "/$PID/master.m3u8"
txt path double_slash 01 0//index.m3u8
txt path trailing_slash 01 0/
txt path too_deep 01 0/a/b.ts
txt path upper_id 00 0F8E2A4C-1B3D-4E5F-8A9B-0C1D2E3F4A5B/master.m3u8
txt path top_index 01 index.m3u8
txt path empty 00 ''

# ---- siwe: byte 0 & 3 = 0 parse, 1 time, 2 check (then a 4-byte now delta), 3 signature ------------
siwe_vec() { # siwe_vec KIND NAME [TAG] FIELD: a field of a siwe_js.txt line (hex without 0x)
    awk -v k="$1" -v n="$2" -v t="$3" -v f="$4" '$1 == k && $2 == n && (t == "" || $3 == t) {
        if (f ~ /^[0-9]+$/) { print $f } else { for (i = 3; i <= NF; i++) if (index($i, f "=") == 1)
            print substr($i, length(f) + 4) } exit }' "$V/siwe_js.txt"
}
for name in basic no_statement empty_statement resources resources_empty times offset_time \
    request_id scheme_http all_fields domain_ipv6 domain_userinfo; do
    bin siwe "msg_$name" "00$(siwe_vec msg "$name" "" 3)"
done
for name in basic times all_fields scheme_https chain_1 issued_future; do
    bin siwe "check_$name" "0200000000$(siwe_vec msg "$name" "" 3)"
done
bin siwe check_times_early "02fffffff0$(siwe_vec msg times "" 3)"
for tag in signed v01 high_s other_key; do
    bin siwe "sig_$tag" "03$(siwe_vec sig basic "$tag" signature)"
done
bin siwe sig_forced_v0 "07$(siwe_vec sig basic signed signature)"
SB=$'localhost:8080 wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nSign in to watch the stream.\n\nURI: http://localhost:8080\nVersion: 1\nChain ID: 31337\nNonce: 32891756abcdef01\nIssued At: 2024-01-01T00:00:00Z'
SI='Issued At: 2024-01-01T00:00:00Z'
txt siwe bad_crlf 00 "${SB//$'\n'/$'\r\n'}"
txt siwe bad_lowercase_address 00 "${SB/0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266/0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266}"
txt siwe bad_trailing_lf 00 "$SB"$'\n'
txt siwe bad_statement_lines 00 "${SB/Sign in to/Sign in$'\n'to}"
txt siwe bad_field_order 00 "${SB/Version: 1$'\n'Chain ID: 31337/Chain ID: 31337$'\n'Version: 1}"
txt siwe bad_duplicate_uri 00 "${SB/Version: 1/URI: http://x$'\n'Version: 1}"
txt siwe bad_time 00 "${SB/2024-01-01T00:00:00Z/2024-02-30T00:00:00Z}"
txt siwe scheme_and_tail 00 "http://${SB/$SI/$SI$'\n'Expiration Time: 2024-01-02T00:00:00.5+01:00$'\n'Not Before: 2016-12-31T23:59:60Z$'\n'Request ID: r-1%20$'\n'Resources:$'\n'- https://a/$'\n'- urn:x:y}"
txt siwe bad_resources_17 00 "$SB"$'\nResources:'"$(for i in {1..17}; do printf '\n- https://a/%d' "$i"; done)"
for t in 2024-01-01T00:00:00Z 2024-01-01t05:30:00.5+05:30 2016-12-31T23:59:60Z \
    2017-01-01T00:59:60+01:00 2024-02-29T23:59:59.999999999-23:59 0000-01-01T00:00:00Z \
    9999-12-31T23:59:59.1-00:00 2024-02-30T00:00:00Z 2024-01-01T00:00:60Z 2024-01-01T24:00:00Z \
    2024-01-01T00:00:00.1234567890Z 2024-01-01T00:00:00+0100 2024-01-01T00:00:00; do
    txt siwe "time_${t//[^0-9A-Za-z]/_}" 01 "$t"
done

# ---- split: flags, count, 32-byte amount, then 3 bytes a share (selector, bps) -------------------
shares() { # shares SEL:BPS...: selector byte and 16-bit bps, each as hex
    local s
    for s in "$@"; do printf '%02x%04x' "$((${s%%:*}))" "$((${s##*:}))"; done
}
hundred() { # hundred BPS [COUNT]: COUNT (100) shares with selectors 1..COUNT, all of BPS
    local i
    for ((i = 1; i <= ${2:-100}; i++)); do printf '%02x%04x' "$i" "$1"; done
}
EXAMPLE=(0x01:3500 0x12:2500 0x23:1500 0x34:1000 0x45:1500) # the 35/25/15/10/15 split
bin split example_001eth "0005$(word 2386f26fc10000)$(shares "${EXAMPLE[@]}")"
bin split example_1234567 "0005$(word 12d687)$(shares "${EXAMPLE[@]}")"
bin split example_1wei "0005$(word 01)$(shares "${EXAMPLE[@]}")"
bin split example_max "0205$(word 00)$(shares "${EXAMPLE[@]}")"
bin split one_payee_prime "0001$(word 7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed)$(shares 0xff:10000)"
bin split tie_5x20 "0005$(word 0f4243)$(shares 0x10:2000 0x01:2000 0xf0:2000 0x0f:2000 0x11:2000)"
bin split tie_fixup_mod3 "0d06$(word 0b)$(shares 0x21:1 0x12:1 0x20:1 0x02:4 0x13:1 0x31:0)"
bin split hundred_equal "0064$(word 00)$(hundred 100)"
bin split hundred_fixup "0964$(word 3b9aca07)$(hundred 99)"
bin split bad_empty "0000$(word 64)"
bin split bad_101_payees "0065$(word 64)$(hundred 99)$(printf '%02x%04x' 101 100)"
bin split bad_zero_bps "0005$(word 64)$(shares 0x01:3500 0x12:0 0x23:4000 0x34:1000 0x45:1500)"
bin split bad_bps_too_large "0002$(word 64)$(shares 0x01:10001 0x12:1)"
bin split bad_sum_9999 "0005$(word 64)$(shares 0x01:3500 0x12:2500 0x23:1499 0x34:1000 0x45:1500)"
bin split bad_sum_10001 "0005$(word 64)$(shares 0x01:3500 0x12:2500 0x23:1501 0x34:1000 0x45:1500)"
bin split bad_duplicate "0005$(word 64)$(shares 0x01:3500 0x12:2500 0x23:1500 0x12:1000 0x45:1500)"
bin split bad_zero_payee "0005$(word 64)$(shares 0x01:3500 0x12:2500 0x00:1500 0x34:1000 0x45:1500)"

# ---- regressions (inputs that once crashed or broke a property) ---------------------------------
# playlist: MEDIA-SEQUENCE between an #EXTINF and its URI (the parser and the rewrite disagreed);
# an absolute URI in a segment the filter drops (the filtered rewrite skipped the check).
txt playlist regress_sequence_after_extinf 12 $'#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:13\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\nlive2.ts\n'
txt playlist regress_dropped_absolute 00 $'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://evil.example/a.ts\n'
