#!/usr/bin/env bash
# test_openapi_lint.sh - docs/openapi.yaml is a valid OpenAPI 3.1 description
# and matches the programs' route tables:
#   * `redocly lint --config docs/redocly.yaml docs/openapi.yaml` (the pinned
#     @redocly/cli in .tools/, recommended-strict: every finding is an error)
#     passes;
#   * the same lint fails on copies broken on purpose (a dangling $ref; a
#     response schema whose example does not match it), so a broken
#     description cannot pass unnoticed;
#   * every route of services/gateway/server.c, services/settlement/service.c
#     and the built-ins of services/common/http.c is documented, every
#     operation is routed, and each is tagged with its services
#     (tests/lib/openapi.js routes).
# Offline: no telemetry, no update check. Prints "ok"/"not ok" lines and a
# closing "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh

TOOLS=$PWD/.tools/node_modules
REDOCLY=$TOOLS/.bin/redocly
SPEC=docs/openapi.yaml
CONFIG=docs/redocly.yaml
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1

# lint FILE: redocly's exit status; its findings in $lint_out.
lint() {
    lint_out=$(timeout 120 "$REDOCLY" lint --config "$CONFIG" --format stylish "$1" 2>&1)
}

if [[ ! -x $REDOCLY ]]; then
    expect "redocly is installed in .tools (make setup)" 1 "missing $REDOCLY"
    tap_finish
    exit
fi

lint "$SPEC"
rc=$?
expect "redocly lint $SPEC: no error and no warning" $rc "$(printf '%s\n' "$lint_out" | grep -vE '^ *$|[║╔╚]' | tail -n 40)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/openapi-lint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Copies broken on purpose must fail: the lint can fail.
sed 's|#/components/schemas/Balances|#/components/schemas/NoSuchSchema|' "$SPEC" >"$tmp/dangling.yaml"
sed "s|      example: '10000000000000000'|      example: '010'|" "$SPEC" >"$tmp/example.yaml"
for broken in dangling example; do
    if cmp -s "$SPEC" "$tmp/$broken.yaml"; then
        expect "the $broken copy differs from $SPEC" 1 "the sed pattern no longer matches $SPEC: update this test"
        continue
    fi
    lint "$tmp/$broken.yaml"
    rc=$?
    [[ $rc -ne 0 ]] && grep -q 'error' <<<"$lint_out"
    expect "redocly lint fails on a copy with a $broken error" $? "exit $rc: $(tail -n 5 <<<"$lint_out")"
done

# The route comparison prints its own TAP lines; count them here.
out=$(NODE_PATH=$TOOLS timeout 60 node tests/lib/openapi.js routes 2>&1)
rc=$?
while IFS= read -r line; do
    case $line in
    'ok - '*) expect "${line#ok - }" 0 "" ;;
    'not ok - '*)
        name=${line#not ok - }
        detail=$(awk -v n="$line" 'f && /^#   /{sub(/^#   /, ""); print; next} {f = ($0 == n)}' <<<"$out")
        expect "$name" 1 "$detail"
        ;;
    esac
done <<<"$out"
grep -qE '^[0-9]+ passed, [0-9]+ failed$' <<<"$out"
expect "tests/lib/openapi.js routes ran to its summary" $? "exit $rc: $(tail -n 5 <<<"$out")"
tap_finish
