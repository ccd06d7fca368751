#!/usr/bin/env bash
# test_publish.sh - `rightsctl publish`: every bad flag is a usage error
# (exit 2, exact message, the key never echoed), --help, --dry-run's ffmpeg
# command (key redacted, the asked ladder), a missing or unfit ffmpeg, and
# real runs of Debian's ffmpeg pushing a testsrc ladder over HTTP PUT into
# put_capture.js (a receiver that stores what it gets), checked with ffprobe:
# one with --duration, one stopped by SIGINT. Needs no database or chain.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
CTL=$PWD/${BUILD_DIR:-build}/bin/rightsctl
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/publish.XXXXXX")
server_pid=
trap '[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
source tests/lib/tap.sh

ID=0b8e2a1c-5f3d-4c2a-9e1b-7d6f5a4b3c21
KEY=Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6
ok_args=(--api http://127.0.0.1:9 --stream "$ID" --key "$KEY")

# ---- --help -------------------------------------------------------------------
out=$("$CTL" publish --help 2>&1)
rc=$?
[[ $rc -eq 0 && $out == "usage: rightsctl publish --api URL --stream ID --key KEY"* && $out == *"/proc"* ]]
expect "publish --help prints the usage (with the /proc note) and exits 0" $? "rc=$rc $out"
out=$("$CTL" publish "${ok_args[@]}" --bogus -h 2>&1)
rc=$?
[[ $rc -eq 0 && $out == "usage: rightsctl publish "* ]]
expect "publish -h anywhere wins over other flags" $? "rc=$rc $out"
for cmd in migrate deploy keygen; do
    out=$("$CTL" "$cmd" --help 2>&1)
    rc=$?
    [[ $rc -eq 0 && $out == "usage: rightsctl $cmd"* ]]
    expect "$cmd --help prints its usage and exits 0" $? "rc=$rc $out"
done
"$CTL" --help | grep -q "^  publish --api URL --stream ID --key KEY"
expect "rightsctl --help lists publish" $? "$("$CTL" --help 2>&1 | head -n 3)"

# ---- bad flags: exit 2, the exact message, the key never shown ----------------
bad() { # bad NAME WANT_MESSAGE ARGS...
    local name=$1 msg=$2
    shift 2
    "$CTL" publish "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [[ $rc -eq 2 && ! -s "$tmp/out" ]] && grep -qF -- "msg=\"publish: $msg\"" "$tmp/err" &&
        ! grep -qF -- "$KEY" "$tmp/err"
    expect "refuses $name" $? "rc=$rc want '$msg' got: $(cat "$tmp/err" "$tmp/out")"
}
bad "no flags" "--api URL is required"
bad "a missing --stream" "--stream ID is required" --api http://h --key "$KEY"
bad "a missing --key" "--key KEY is required" --api http://h --stream "$ID"
bad "an unknown flag" "unknown argument '--bogus'" "${ok_args[@]}" --bogus
bad "a flag without its value" "--ladder needs a value" "${ok_args[@]}" --ladder
bad "a flag given twice" "--api given twice" "${ok_args[@]}" --api http://h
bad "an uppercase stream id" "--stream: '0B8E2A1C-5F3D-4C2A-9E1B-7D6F5A4B3C21' is not a lowercase UUID" \
    --api http://h --key "$KEY" --stream "${ID^^}"
bad "a short stream id" "--stream: '0b8e2a1c-5f3d-4c2a-9e1b-7d6f5a4b3c2' is not a lowercase UUID" \
    --api http://h --key "$KEY" --stream "${ID:0:35}"
bad "a stream id with braces" "--stream: '{$ID}' is not a lowercase UUID" \
    --api http://h --key "$KEY" --stream "{$ID}"
key_msg="--key: not 16 to 128 characters of [A-Za-z0-9_-]"
bad "a 15-character key" "$key_msg" --api http://h --stream "$ID" --key "${KEY:0:15}"
bad "a 129-character key" "$key_msg" --api http://h --stream "$ID" --key "$(printf 'a%.0s' {1..129})"
bad "a key with '+'" "$key_msg" --api http://h --stream "$ID" --key "${KEY}+"
api_bad() { # api_bad URL
    local quoted=$1
    bad "--api '$1'" "--api: '$quoted' is not an http:// or https:// base URL (no user info, query or fragment)" \
        --api "$1" --stream "$ID" --key "$KEY"
}
for url in ftp://h http:// http://h/?x=1 'http://h/#f' http://user@h http://h:0 http://h:65536 \
    http://h:80x 'http://h/%v' 'http://h /' 'http://[::1'; do
    api_bad "$url"
done
bad "an unknown rung" "--ladder: unknown rung '999p' (known: 1080p, 720p, 480p, 360p, 240p)" \
    "${ok_args[@]}" --ladder 720p,999p
bad "an empty rung" "--ladder: unknown rung '' (known: 1080p, 720p, 480p, 360p, 240p)" \
    "${ok_args[@]}" --ladder 720p,
bad "a duplicate rung" "--ladder: rung '480p' given twice" "${ok_args[@]}" --ladder 480p,360p,480p
bad "six rungs" "--ladder: rung '240p' given twice" "${ok_args[@]}" --ladder 1080p,720p,480p,360p,240p,240p
bad "a missing input file" "--input: cannot read file '$tmp/nope.mp4': No such file or directory" \
    "${ok_args[@]}" --input "$tmp/nope.mp4"
bad "a directory as input" "--input: '$tmp' is not a regular file" "${ok_args[@]}" --input "$tmp"
bad "an ftp input" "--input: 'ftp://h/a.mp4': only http, https, rtmp, rtmps and srt URLs" \
    "${ok_args[@]}" --input ftp://h/a.mp4
bad "an input URL with a space" "--input: 'rtmp://h/a b' is not a valid URL" "${ok_args[@]}" --input "rtmp://h/a b"
bad "--duration 0" "--duration: '0' is not a whole number of seconds from 1 to 604800" "${ok_args[@]}" --duration 0
bad "--duration 604801" "--duration: '604801' is not a whole number of seconds from 1 to 604800" \
    "${ok_args[@]}" --duration 604801
bad "--duration 1.5" "--duration: '1.5' is not a whole number of seconds from 1 to 604800" "${ok_args[@]}" --duration 1.5
bad "--hls-time 11" "--hls-time: '11' is not a whole number of seconds from 1 to 10" "${ok_args[@]}" --hls-time 11
bad "--hls-time -1" "--hls-time: '-1' is not a whole number of seconds from 1 to 10" "${ok_args[@]}" --hls-time -1
bad "an empty --ffmpeg" "--ffmpeg: empty path" "${ok_args[@]}" --ffmpeg ''

# ---- --dry-run ------------------------------------------------------------------
rung() { # rung W H: the scale and pad of one rung in the filter graph
    echo "scale=$1:$2:force_original_aspect_ratio=decrease,pad=$1:$2:"
}
out=$("$CTL" publish --api http://gw.example:8080/base/ --stream "$ID" --key "$KEY" --dry-run \
    --ffmpeg /nonexistent/ffmpeg 2>"$tmp/err")
rc=$?
want_url="http://gw.example:8080/base/ingest/$ID/%v/index.m3u8"
[[ $rc -eq 0 && $out != *"$KEY"* && $(cat "$tmp/err") != *"$KEY"* &&
    $out == "/nonexistent/ffmpeg -hide_banner -nostdin -loglevel warning -nostats -re -f lavfi -i testsrc2=size=1280x720:rate=30 -re -f lavfi -i sine=frequency=440:sample_rate=48000 "* &&
    $out == *"-headers \$'Authorization: Bearer <redacted>\\r\\n'"* &&
    $out == *"split=3[s0][s1][s2];[s0]$(rung 1280 720)"*"[v0];[s1]$(rung 854 480)"*"[v1];[s2]$(rung 640 360)"*"[v2]' "* &&
    $out == *" -map '[v0]' -map 1:a:0 -map '[v1]' -map 1:a:0 -map '[v2]' -map 1:a:0 "* &&
    $out == *" -c:v libx264 -preset veryfast -tune zerolatency -sc_threshold 0 -g 60 -keyint_min 60 "* &&
    $out == *" -b:v:0 2800k -maxrate:v:0 2800k -bufsize:v:0 5600k -b:v:1 1400k "*" -b:v:2 800k "* &&
    $out == *" -c:a aac -ar 48000 -ac 2 -b:a:0 128k -b:a:1 128k -b:a:2 96k -f hls -method PUT "* &&
    $out == *" -hls_time 2 -hls_list_size 6 "*" -master_pl_name master.m3u8 -var_stream_map 'v:0,a:0 v:1,a:1 v:2,a:2' $want_url" &&
    $out != *" -t "* ]]
expect "--dry-run prints the default 720p,480p,360p command with the key redacted, without running ffmpeg" $? "rc=$rc $out $(cat "$tmp/err")"

eval "dry=($out)" # the printed line is valid shell: it splits back into the argv
[[ ${#dry[@]} -gt 80 && ${dry[-1]} == "$want_url" && ${dry[-12]} == $'Authorization: Bearer <redacted>\r\n' ]]
expect "--dry-run's line is shell-quoted: the header keeps its CRLF" $? "${#dry[@]} args; ${dry[-12]@Q}"

printf 'not really media' >"$tmp/in:put.mp4"
out=$("$CTL" publish "${ok_args[@]}" --dry-run --ladder 240p,1080p --input "$tmp/in:put.mp4" \
    --duration 30 --hls-time 4 2>&1)
rc=$?
[[ $rc -eq 0 && $out == *" -re -i file:$tmp/in:put.mp4 -filter_complex "* && $out != *lavfi* &&
    $out == *"split=2[s0][s1];[s0]$(rung 426 240)"*";[s1]$(rung 1920 1080)"* &&
    $out == *" -map '[v0]' -map 0:a:0 -map '[v1]' -map 0:a:0 "* && $out == *" -g 120 -keyint_min 120 "* &&
    $out == *" -b:v:0 400k "*" -b:v:1 5000k "*" -b:a:0 64k -b:a:1 192k -t 30 -f hls "* &&
    $out == *" -hls_time 4 "*"-var_stream_map 'v:0,a:0 v:1,a:1' "* ]]
expect "--dry-run: a file input (-re, file:), ladder order kept, --duration and --hls-time" $? "rc=$rc $out"

out=$("$CTL" publish "${ok_args[@]}" --dry-run --ladder 360p --input srt://10.0.0.1:9000 2>&1)
rc=$?
[[ $rc -eq 0 && $out == *" -nostats -i srt://10.0.0.1:9000 -filter_complex "* && $out != *" -re "* &&
    $out == *" -var_stream_map v:0,a:0 http://127.0.0.1:9/ingest/$ID/%v/index.m3u8" ]]
expect "--dry-run: a live URL input is read as it comes (no -re)" $? "rc=$rc $out"

# ---- ffmpeg missing or unfit: exit 1 before anything is sent -------------------
"$CTL" publish "${ok_args[@]}" --ffmpeg "$tmp/no-ffmpeg" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 ]] && grep -qF "cannot run ffmpeg '$tmp/no-ffmpeg': No such file or directory (install ffmpeg or pass --ffmpeg PATH)" "$tmp/err"
expect "a missing ffmpeg fails clearly (exit 1)" $? "rc=$rc $(cat "$tmp/err")"
printf '#!/bin/sh\necho " A..... aac                  AAC (Advanced Audio Coding)"\n' >"$tmp/ffmpeg-no264"
chmod +x "$tmp/ffmpeg-no264"
"$CTL" publish "${ok_args[@]}" --ffmpeg "$tmp/ffmpeg-no264" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 ]] && grep -qF "ffmpeg '$tmp/ffmpeg-no264' has no libx264 or no aac encoder" "$tmp/err"
expect "an ffmpeg without libx264 fails clearly (exit 1)" $? "rc=$rc $(cat "$tmp/err")"

# ---- real runs into put_capture.js ---------------------------------------------
mkdir -p "$tmp/cap"
node tests/stack/put_capture.js "$tmp/cap" &
server_pid=$!
wait_file() { # wait_file PATH TENTHS: until PATH is non-empty, at most TENTHS/10 s
    local i
    for ((i = 0; i < $2; i++)); do
        [[ -s $1 ]] && return 0
        sleep 0.1
    done
    return 1
}
wait_file "$tmp/cap/port" 50
port=$(cat "$tmp/cap/port" 2>/dev/null)
api=http://127.0.0.1:$port
files=$tmp/cap/files/ingest/$ID

# The gateway refuses the key (ffmpeg itself would ignore a 401 on every
# PUT): publish asks first, fails clearly and uploads nothing.
echo "another-key-0123456789" >"$tmp/cap/accept-key"
"$CTL" publish --input testsrc --ladder 360p --duration 2 --api "$api" --stream "$ID" --key "$KEY" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
puts=$(grep -c '"method":"PUT"' "$tmp/cap/requests.jsonl" 2>/dev/null)
[[ $rc -eq 1 && $puts -eq 0 ]] && grep -q "the gateway refused the ingest key" "$tmp/err" &&
    ! grep -qF -- "$KEY" "$tmp/err"
expect "a key the gateway refuses: exit 1 before ffmpeg uploads anything" $? "rc=$rc puts=$puts $(cat "$tmp/err")"
rm -f "$tmp/cap/requests.jsonl"
echo "$KEY" >"$tmp/cap/accept-key"

"$CTL" publish --input testsrc --ladder 480p,360p --duration 5 --api "$api" --stream "$ID" --key "$KEY" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -eq 0 && -n $port ]] && ! grep -qF -- "$KEY" "$tmp/err"
expect "a 5 s testsrc run exits 0 and never logs the key" $? "rc=$rc port=$port $(cat "$tmp/err")"

first=$(head -n 1 "$tmp/cap/requests.jsonl" 2>/dev/null)
[[ $first == *'"method":"GET","path":"/ingest/'"$ID"'"'* && $first == *'"status":204'* ]]
expect "publish checks the key with GET /ingest/<id> before streaming" $? "$first"
sed -i '1d' "$tmp/cap/requests.jsonl"
requests=$(wc -l <"$tmp/cap/requests.jsonl" 2>/dev/null || echo 0)
authed=$(grep -cF "\"method\":\"PUT\",\"path\":\"/ingest/$ID/" "$tmp/cap/requests.jsonl" 2>/dev/null)
bearer=$(grep -cF "\"authorization\":\"Bearer $KEY\"" "$tmp/cap/requests.jsonl" 2>/dev/null)
[[ $requests -ge 8 && $authed == "$requests" && $bearer == "$requests" ]]
expect "every request is a PUT under /ingest/<id>/ with Authorization: Bearer <key>" $? \
    "requests=$requests under-ingest=$authed bearer=$bearer"

paths=$(sed -E 's/.*"path":"([^"]*)".*/\1/' "$tmp/cap/requests.jsonl" | sort -u)
others=$(grep -vE "^/ingest/$ID/(master\.m3u8|[01]/index\.m3u8|[01]/index[0-9]+\.ts)$" <<<"$paths")
[[ -z $others ]] && grep -qx "/ingest/$ID/master.m3u8" <<<"$paths" &&
    grep -qx "/ingest/$ID/0/index.m3u8" <<<"$paths" && grep -qx "/ingest/$ID/1/index.m3u8" <<<"$paths" &&
    grep -qx "/ingest/$ID/0/index2.ts" <<<"$paths" && grep -qx "/ingest/$ID/1/index2.ts" <<<"$paths"
expect "paths are master.m3u8, {0,1}/index.m3u8 and {0,1}/index<n>.ts" $? "$paths"

master=$(tr -d '\r' <"$files/master.m3u8" 2>/dev/null)
variants=$(grep -c '^#EXT-X-STREAM-INF:' <<<"$master")
[[ $variants -eq 2 && $(grep -A1 'RESOLUTION=854x480' <<<"$master" | tail -n 1) == 0/index.m3u8 &&
    $(grep -A1 'RESOLUTION=640x360' <<<"$master" | tail -n 1) == 1/index.m3u8 ]]
expect "the master lists 2 variants: 854x480 -> 0/, 640x360 -> 1/" $? "$master"

probe_ok=0
probe_bad=
for v in 0 1; do
    size=$([[ $v == 0 ]] && echo 854,480 || echo 640,360)
    list=$(tr -d '\r' <"$files/$v/index.m3u8" 2>/dev/null)
    [[ $(tail -n 1 <<<"$list") == "#EXT-X-ENDLIST" ]] || probe_bad+=" $v/index.m3u8 has no final ENDLIST;"
    total=$(awk -F'[:,]' '/^#EXTINF:/ {t += $2} END {printf "%d", t * 10 + 0.5}' <<<"$list")
    [[ $total -ge 45 && $total -le 55 ]] || probe_bad+=" $v/index.m3u8 lasts $total/10 s;"
    for seg in $(grep -v '^#' <<<"$list"); do
        streams=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$files/$v/$seg" 2>&1 |
            sed 's/,*$//' | grep -v '^$' | sort -u | tr '\n' ' ')
        key=$(ffprobe -v error -select_streams v -read_intervals '%+#1' -show_entries frame=key_frame \
            -of csv=p=0 "$files/$v/$seg" 2>&1 | head -n 1 | cut -d, -f1)
        if [[ $streams == "aac h264,$size " && $key == 1 ]]; then
            probe_ok=$((probe_ok + 1))
        else
            probe_bad+=" $v/$seg: '$streams' key_frame=$key;"
        fi
    done
done
[[ -z $probe_bad && $probe_ok -ge 6 ]]
expect "final playlists end with #EXT-X-ENDLIST, last ~5 s, and list segments ffprobe reads as h264 (rung size, keyframe first) + aac" $? \
    "ok=$probe_ok$probe_bad"

# SIGINT from another process is forwarded; ffmpeg closes the playlists.
ID2=0b8e2a1c-5f3d-4c2a-9e1b-7d6f5a4b3c22
"$CTL" publish --ladder 240p --api "$api" --stream "$ID2" --key "$KEY" >/dev/null 2>"$tmp/err" &
pub_pid=$!
wait_file "$tmp/cap/files/ingest/$ID2/0/index0.ts" 60
kill -INT "$pub_pid"
wait "$pub_pid"
rc=$?
left=$(pgrep -f "ingest/$ID2/" || true)
list=$(tr -d '\r' <"$tmp/cap/files/ingest/$ID2/0/index.m3u8" 2>/dev/null)
[[ $rc -eq 130 && -z $left && $(tail -n 1 <<<"$list") == "#EXT-X-ENDLIST" ]] &&
    grep -qF 'msg="publish stopped; playlists closed" signal=SIGINT' "$tmp/err"
expect "SIGINT to rightsctl reaches ffmpeg: playlists end with ENDLIST, exit 130, no ffmpeg left" $? \
    "rc=$rc left=$left last=$(tail -n 1 <<<"$list") $(cat "$tmp/err")"

tap_finish
