#!/usr/bin/env bash
# Prints the path of a Chromium binary, installing Debian's chromium if there is none. Used by the test that opens
# hlvm prof's HTML page in a real headless browser (tests/Hlvm.Tests/ProfilerBrowserTests.cs).
#
#   scripts/ensure-chromium.sh       the path on stdout; what apt-get says goes to stderr
#
# Looks on PATH for chromium, chromium-browser and google-chrome. If none is there, runs apt-get update and
# installs chromium (as root, or through sudo). Exits 1 with a message on stderr if it can't.
set -euo pipefail

find_chromium() {
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" 2> /dev/null; then return 0; fi
    done
    return 1
}

if find_chromium; then exit 0; fi

fail() {
    echo "ensure-chromium.sh: $*" >&2
    exit 1
}

command -v apt-get > /dev/null || fail "no chromium on PATH, and no apt-get to install it; install chromium and try again"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || fail "no chromium, and installing it needs root or sudo; install chromium and try again"
    sudo="sudo"
fi

echo "== installing chromium" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || fail "apt-get update failed"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 || fail "could not install chromium with apt-get"
find_chromium || fail "installed chromium, but there is still none on PATH"
