#!/usr/bin/env bash
# CI for koishi-plugin-fanzha. Assumes the Node addon is already built in bindings/node
# (npx napi build --platform --release ...) and target/release/fanzha exists (or FANZHA_BIN).
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"

if ! ls "$root"/bindings/node/fanzha.*.node >/dev/null 2>&1; then
  echo "ci.sh: the Node addon is not built: cd bindings/node && npm ci && npx napi build --platform --release --js index.js --dts index.d.ts" >&2
  exit 1
fi
bin="${FANZHA_BIN:-$root/target/release/fanzha}"
if [ ! -x "$bin" ]; then
  echo "ci.sh: $bin is missing: cargo build --release -p fanzha-cli (or set FANZHA_BIN)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm test
