#!/usr/bin/env bash
# check_repo.sh - static checks of the files that cannot be exercised here:
#   * docker/: every COPY source in the Dockerfile exists, every Dockerfile
#     named by compose exists, and each compose service names an image or a build;
#   * every shell script parses (bash -n);
#   * setup.sh is idempotent: a second run prints nothing and changes nothing.
# Prints one "ok"/"not ok" line per check and a closing "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0
fail=0
check() { # check NAME CMD...
    local name=$1
    shift
    if out=$("$@" 2>&1); then
        echo "ok - $name"
        pass=$((pass + 1))
    else
        echo "not ok - $name"
        printf '%s\n' "$out" | sed 's/^/#   /'
        fail=$((fail + 1))
    fi
}

dockerfile_copy_sources_exist() {
    local missing=0 src
    while read -r src; do
        [[ -e "$src" ]] || { echo "COPY source '$src' does not exist"; missing=1; }
    done < <(awk '/^COPY / && !/--from=/ { for (i = 2; i < NF; i++) print $i }' docker/Dockerfile)
    return $missing
}

compose_is_consistent() {
    local f=docker/compose.yaml bad=0 df
    grep -q '^services:' "$f" || { echo "no services: key"; return 1; }
    for df in $(grep -o 'dockerfile: [^ ,}]*' "$f" | awk '{print $2}'); do
        [[ -f "$df" ]] || { echo "compose names missing $df"; bad=1; }
    done
    # every service (two-space indented key under services:) has image: or build:
    awk '/^services:/{s=1;next} /^[a-z]/{s=0} s&&/^  [a-z_-]+:$/{if(n&&!ok)print "service "n" has no image/build"; n=$1; ok=0} s&&/^    (image|build):/{ok=1} END{if(n&&!ok)print "service "n" has no image/build"}' "$f" | grep . && bad=1
    [[ $bad -eq 0 ]]
}

scripts_parse() {
    local f bad=0
    for f in .ci/run $(git ls-files '*.sh'); do
        bash -n "$f" || bad=1
    done
    return $bad
}

setup_is_idempotent() {
    local before after out
    before=$(cat .tools/.stamp 2>/dev/null)
    out=$(bash services/stack/setup.sh 2>&1) || { echo "$out"; return 1; }
    after=$(cat .tools/.stamp 2>/dev/null)
    [[ -z "$out" ]] || { echo "second run printed: $out"; return 1; }
    [[ "$before" == "$after" && -n "$after" ]] || { echo "stamp changed"; return 1; }
}

check "dockerfile COPY sources exist" dockerfile_copy_sources_exist
check "compose file is consistent" compose_is_consistent
check "shell scripts parse" scripts_parse
check "setup is idempotent" setup_is_idempotent
echo "$pass passed, $fail failed"
((fail == 0))
