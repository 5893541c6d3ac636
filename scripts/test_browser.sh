#!/usr/bin/env bash
# The browser stage: builds the engine's browser module (scripts/build_web.sh) and runs
# web/test/browser.test.mjs in Debian's headless chromium (puppeteer-core, pinned by
# web/package-lock.json): a cross-origin isolated page, 2 threads, tiny-a loaded from a static
# server on 127.0.0.1, answers equal to the native CLI's, cancel, Range reads of the per-layer
# table, bad input. GEMMA4_CHROMIUM points at another chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build_web.sh
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "== web/test (headless chromium)"
(cd web && timeout 300 node --test test/)
