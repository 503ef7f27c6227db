#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright's own browser download does not
# work on machines without general internet). Install it when it is missing and we
# are allowed to (root); otherwise the browser tests say why they cannot run.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "chromium is not installed; browser tests will skip (fail when CI=true)" >&2
fi
