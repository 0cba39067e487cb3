#!/usr/bin/env bash
# Installs the NoneBot2 plugin and its test dependencies into a venv that already has the
# fanzha wheel, and runs the plugin's tests.
#
#   bash integrations/nonebot-plugin-fanzha/ci.sh target/py-venv
#
# The replay test compares with `fanzha scan`: target/release/fanzha, or $FANZHA_BIN.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/bin/python" ]; then
    echo "usage: $0 VENV   (a Python venv with the fanzha wheel installed)" >&2
    exit 2
fi
venv=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
python="$venv/bin/python"

if ! "$python" -c "import fanzha" 2>/dev/null; then
    echo "fanzha is not installed in $venv: build the wheel first (see $here/README.md)" >&2
    exit 2
fi

# fanzha is already there, so pip resolves it to the installed wheel and never asks PyPI.
"$python" -m pip install --quiet --disable-pip-version-check "$here[test]"
cd "$here"
"$python" -m pytest -q -p no:cacheprovider tests
