#!/usr/bin/env bash
# Renders a run's HTML report in headless Chromium and saves a screenshot.
#
#   bash docs/report-screenshot.sh RUN_DIR OUT.png
#
# Needs Debian's chromium (`apt-get install -y chromium`). The flags are those
# that keep Chromium off the network: the report itself fetches nothing.
set -euo pipefail
run=${1:?usage: report-screenshot.sh RUN_DIR OUT.png}
png=${2:?usage: report-screenshot.sh RUN_DIR OUT.png}
bin=${SAFEFLAG:-target/release/safeflag}
html=$(mktemp --suffix=.html)
profile=$(mktemp -d)
trap 'rm -rf "$html" "$profile"' EXIT
"$bin" report "$run" --html "$html" -q >/dev/null
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1000,4400 \
  --screenshot="$png" "file://$html" 2>/dev/null
echo "screenshot: $png"
