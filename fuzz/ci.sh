#!/usr/bin/env bash
# Fuzzing in CI (see docs/FUZZING.md).
#
# Always, on stable: replay the committed corpus and every past crash of each target
# (`cargo test` in this workspace). Then, when a nightly toolchain is installed and
# cargo-fuzz is installed or can be installed: build every target with libFuzzer and
# AddressSanitizer and run each for FUZZ_SECONDS (default 20) in one process, starting from
# the committed corpus; a crash fails the script and leaves its input under
# fuzz/target/ci-artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never
seconds="${FUZZ_SECONDS:-20}"

echo "== fuzz: replay the corpus and past crashes (stable)"
# In the main workspace's target directory: the profiles match, so the dependencies the main
# build compiled are reused (a minute instead of six on two cores).
CARGO_TARGET_DIR=../target cargo test --quiet

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "== fuzz: no nightly toolchain; the fuzz runs are skipped"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== fuzz: installing cargo-fuzz"
  if ! cargo +nightly install cargo-fuzz --locked --quiet; then
    echo "== fuzz: cargo-fuzz could not be installed; the fuzz runs are skipped"
    exit 0
  fi
fi

echo "== fuzz: build every target (nightly, libFuzzer, AddressSanitizer)"
cargo +nightly fuzz build

failed=()
for target in $(cargo +nightly fuzz list); do
  echo "== fuzz: $target for ${seconds}s"
  # New inputs go to a scratch corpus; the committed one is only read.
  scratch="target/ci-corpus/$target"
  artifacts="target/ci-artifacts/$target/"
  rm -rf "$artifacts"
  mkdir -p "$scratch" "$artifacts"
  dict=()
  [ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
  seeds=("corpus/$target")
  if [ "$target" = rules ]; then
    # The bundled packs' TOML, not the compiled bundle beside them (rules/bundled.fzb): libFuzzer
    # reads whole directories.
    packs="target/ci-seeds/rules"
    rm -rf "$packs"
    mkdir -p "$packs"
    cp ../rules/*.toml "$packs/"
    seeds+=("$packs")
  fi
  log="target/ci-logs/$target.log"
  mkdir -p target/ci-logs
  status=0
  cargo +nightly fuzz run "$target" "$scratch" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$artifacts" \
    -print_final_stats=1 "${dict[@]}" >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units)' "$log" || true
  if [ "$status" -ne 0 ] || compgen -G "${artifacts}*" >/dev/null; then
    tail -n 60 "$log"
    echo "!! fuzz: $target crashed (exit $status); the input is in fuzz/$artifacts:"
    echo "!! copy it into fuzz/regressions/$target/ once fixed (docs/FUZZING.md)"
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "== fuzz: crashes in: ${failed[*]}"
  exit 1
fi
echo "== fuzz: every target ran without a crash"
