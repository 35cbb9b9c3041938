#!/usr/bin/env bash
# Run checkov's Bicep checks on infra/. checkov lives in its own virtual environment
# (CHECKOV_VENV, default /tmp/checkov-venv), so its many dependencies stay out of the app's.
# The Python tests in tests/infra parse the same templates; this adds the security policies.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CHECKOV_VENV:-/tmp/checkov-venv}"
checkov_version="${CHECKOV_VERSION:-3.3.30}"

if [ ! -x "$venv/bin/checkov" ]; then
  echo "Installing checkov $checkov_version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "checkov==$checkov_version"
fi

cd "$repo_root"
# .checkov.yaml at the root sets the framework, keeps checkov offline and lists the one
# check skipped globally.
"$venv/bin/checkov" --config-file .checkov.yaml --directory infra "$@"
