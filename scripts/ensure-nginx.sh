#!/usr/bin/env bash
# Prints the path of an nginx binary, installing Debian's nginx if there is none. Used by the test that streams a
# bundle from nginx (tests/Hlvm.Tests/NginxStreamingTests.cs) and by bench/bundle-stream.sh; neither runs nginx
# as a service: each starts its own on loopback with a private configuration.
#
#   scripts/ensure-nginx.sh          the path on stdout; what apt-get says goes to stderr
#
# Looks on PATH, then at /usr/sbin/nginx (not on a non-root user's PATH on Debian). If neither is there, runs
# apt-get update and installs nginx-light, or nginx where the release has no nginx-light (as root, or through sudo).
# Exits 1 with a message on stderr if it can't.
set -euo pipefail

find_nginx() {
    if command -v nginx 2> /dev/null; then return 0; fi
    if [ -x /usr/sbin/nginx ]; then echo /usr/sbin/nginx; return 0; fi
    return 1
}

if find_nginx; then exit 0; fi

fail() {
    echo "ensure-nginx.sh: $*" >&2
    exit 1
}

command -v apt-get > /dev/null || fail "no nginx on PATH or at /usr/sbin/nginx, and no apt-get to install it; install nginx and try again"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || fail "no nginx, and installing it needs root or sudo; install nginx (apt-get install nginx-light) and try again"
    sudo="sudo"
fi

# apt-get's own output goes to stderr so that stdout holds the path alone.
echo "== installing nginx" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || fail "apt-get update failed"
installed=""
for package in nginx-light nginx; do
    # A package the release does not have has no candidate version.
    if apt-cache policy "$package" 2> /dev/null | grep -q 'Candidate: [0-9]'; then
        if $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2; then
            installed=$package
            break
        fi
    fi
done
[ -n "$installed" ] || fail "could not install nginx-light or nginx with apt-get; install nginx and try again"
find_nginx || fail "installed $installed, but there is still no nginx on PATH or at /usr/sbin/nginx"
