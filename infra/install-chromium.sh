#!/usr/bin/env bash
# Installs Debian's Chromium (and axe-core) for the browser tests (tests/e2e/test_ui_in_a_browser.py)
# through the system package manager, where this runs as root with apt-get; elsewhere it
# says why not, and those tests skip with the reason. Playwright drives it through
# `executable_path` (Playwright's own browser download is not reachable here).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
# axe-core (the accessibility check run in each page) from the npm registry, into .cache.
if [ ! -f "$root/.cache/axe/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix "$root/.cache/axe" axe-core@4 >/dev/null 2>&1 \
    || echo "[tests] axe-core could not be installed: the accessibility check will skip" >&2
fi
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[tests] chromium is not installed and apt-get is not usable here: the browser tests will skip" >&2
  exit 0
fi
echo "[tests] installing chromium through apt-get (once)" >&2
(DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null 2>&1 \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }) \
  || echo "[tests] chromium could not be installed: the browser tests will skip" >&2
exit 0
