#!/usr/bin/env bash
# Installs what the Spark backfill's test needs into a virtualenv: the pinned PySpark (and
# Java, when the machine has none). Usage, from .ci/run before pytest:
#   bash examples/spark/ci.sh target/py-venv
set -euo pipefail
venv=${1:?usage: examples/spark/ci.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v java >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless) >/dev/null 2>&1 \
    || echo "Java could not be installed: the Spark test will fail"
fi
"$venv/bin/pip" install --quiet -r "$here/requirements.txt"
