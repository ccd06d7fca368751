#!/usr/bin/env bash
# setup.sh - installs whatever the project needs on a Debian 12 machine and
# does nothing when everything is already there.
#   1. Debian packages (apt-get when root; otherwise prints the exact command).
#   2. Pinned npm tools from services/stack/package-lock.json into .tools/
#      (anvil, cast, solc-js, OpenZeppelin contracts + merkle-tree, ethers, siwe,
#      playwright-core, which drives Debian's chromium in tests/browser;
#      @redocly/cli, ajv and yaml, which lint and check docs/openapi.yaml).
#   3. The fan web page's front-end dependencies (hls.js) from
#      services/gateway/web/package-lock.json into services/gateway/web/node_modules/,
#      which the gateway serves from.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PACKAGES=(
    build-essential pkg-config ca-certificates curl git procps util-linux
    libsecp256k1-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libpq-dev libssl-dev
    postgresql postgresql-contrib ffmpeg libavformat-dev libavcodec-dev libavutil-dev
    nodejs npm chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    # nodejs/npm may come from elsewhere (nvm, NodeSource): accept working binaries.
    case "$p" in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: missing Debian packages; run this as root, then retry:" >&2
        echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

TOOLS=.tools
LOCK=services/stack/package-lock.json
want=$(sha256sum services/stack/package.json "$LOCK" | sha256sum | cut -c1-64)
have=$(cat "$TOOLS/.stamp" 2>/dev/null || true)
if [[ "$want" != "$have" || ! -x "$TOOLS/node_modules/.bin/anvil" ]]; then
    echo "setup: installing pinned npm tools into $TOOLS/"
    mkdir -p "$TOOLS"
    cp services/stack/package.json "$LOCK" "$TOOLS/"
    (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$TOOLS/.stamp"
fi

WEB=services/gateway/web
want=$(sha256sum "$WEB/package.json" "$WEB/package-lock.json" | sha256sum | cut -c1-64)
have=$(cat "$WEB/node_modules/.stamp" 2>/dev/null || true)
if [[ "$want" != "$have" || ! -f "$WEB/node_modules/hls.js/dist/hls.min.js" ]]; then
    echo "setup: installing the web page's pinned npm dependencies into $WEB/node_modules/"
    npm ci --prefix "$WEB" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$WEB/node_modules/.stamp"
fi
