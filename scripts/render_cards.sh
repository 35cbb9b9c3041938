#!/usr/bin/env bash
# Render every Adaptive Card kind (digest, reminder, resolved, approval) for the demo findings
# with the adaptivecards npm renderer in headless Chromium, and write docs/images/card-<kind>.png.
# Exits 1 when a card reports a parse or validation event or renders without its title.
#
#   scripts/render_cards.sh [OUTPUT_DIR]    (default: docs/images)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output="${1:-$root/docs/images}"
python="${PYTHON:-$root/.venv/bin/python}"

if [[ ! -f "$root/node_modules/adaptivecards/dist/adaptivecards.min.js" ]]; then
    echo "render_cards.sh: node_modules/adaptivecards is missing; run npm ci in $root" >&2
    exit 2
fi
if [[ ! -x /usr/bin/chromium ]]; then
    echo "render_cards.sh: /usr/bin/chromium not found; run apt-get install chromium" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" scripts/render_cards.py \
    --output "$output" --work "$work"
