#!/usr/bin/env bash
# Streaming a bundle over HTTP: does a bundle's size cost its start-up? Two apps that are the same program (it
# reads a small startup resource, then prints "ready") are packed and signed: "small" with nothing else, "large"
# with 50 MiB of incompressible resources that the program never reads. nginx serves both on loopback, and
# hyperfine times `hlvm run URL` with a cold cache (`hlvm cache clear` before every run). The program prints its
# one line and exits, so the time of the run is its time to first output. The bytes nginx sent for one run are
# read from its access log, and every answer must be 206 Partial Content.
#
#   bench/bundle-stream.sh           10 timed runs per bundle after a warm-up
#   RUNS=20 bench/bundle-stream.sh   more
#
# Prints a markdown table. Builds hlvm in Release (src/Cli/bin/Release); installs nginx (scripts/ensure-nginx.sh)
# and hyperfine (apt-get) if they are missing. Everything else it writes (the apps, the cache, nginx's files) is
# in a temporary directory, removed at the end; the nginx it starts listens on 127.0.0.1 only and is stopped then.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-10}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive number" >&2; exit 64; }

# --- tools -------------------------------------------------------------------------------------------------------
nginx=$("$root/scripts/ensure-nginx.sh")
if ! command -v hyperfine > /dev/null; then
    echo "== installing hyperfine" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >&2
fi
command -v hyperfine > /dev/null || { echo "bundle-stream.sh: hyperfine is missing and could not be installed" >&2; exit 1; }
command -v python3 > /dev/null || { echo "bundle-stream.sh: needs python3 for the table" >&2; exit 1; }

echo "== building hlvm (Release)" >&2
dotnet build src/Cli -c Release -v q -nologo > /dev/null
hlvm="dotnet $root/src/Cli/bin/Release/net10.0/hlvm.dll"

work=$(mktemp -d)
nginx_pid=""
cleanup() {
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# hlvm's cache, app data and trusted keys: private to this run, never the user's.
export HLVM_CACHE_HOME=$work/cache HLVM_DATA_HOME=$work/data HLVM_CONFIG_HOME=$work/config

# --- the apps ----------------------------------------------------------------------------------------------------
echo "== making and packing the apps" >&2
make_app() { # DIR
    mkdir -p "$1/data"
    cat > "$1/main.hl" << 'EOF'
import std.fs

fn main(args: [string]) {
    let greeting = fs.readText("/app/data/greeting.txt")
    if greeting.len() > 0 {
        println("ready")
    }
}
EOF
    echo "hello from a startup resource" > "$1/data/greeting.txt"
    printf 'name = "streambench"\nversion = "1.0.0"\nentry = "main.hl"\nstartup = ["data/greeting.txt"]\n' > "$1/hlvm.toml"
}
make_app "$work/apps/small"
make_app "$work/apps/large"
# 50 files of 1 MiB of random bytes: Brotli can't shrink them, so they are stored as they are.
mkdir -p "$work/apps/large/assets"
for i in $(seq -w 1 50); do head -c $((1 << 20)) /dev/urandom > "$work/apps/large/assets/blob-$i.bin"; done

mkdir -p "$work/www"
$hlvm keygen -o "$work/publisher" > /dev/null
for app in small large; do
    $hlvm pack "$work/apps/$app" -o "$work/www/$app.hlb" --key "$work/publisher.key" > /dev/null
done

# --- nginx -------------------------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prefix=$work/nginx
mkdir -p "$prefix"
temps="    client_body_temp_path $prefix/client_body_temp;"
for module in proxy fastcgi uwsgi scgi; do
    # nginx-light and other small builds leave some modules out, and reject their directives.
    "$nginx" -V 2>&1 | grep -q -- "--without-http_${module}_module" || temps+=$'\n'"    ${module}_temp_path $prefix/${module}_temp;"
done
cat > "$prefix/nginx.conf" << EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log info;
events {
    worker_connections 64;
}
http {
    log_format ranges '\$status \$body_bytes_sent \$http_range';
    access_log $prefix/access.log ranges;
$temps
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        root $work/www;
    }
}
EOF
"$nginx" -p "$prefix/" -c "$prefix/nginx.conf" 2> "$prefix/stderr.log" &
nginx_pid=$!
for _ in $(seq 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
    kill -0 "$nginx_pid" 2> /dev/null || { echo "nginx exited:" >&2; cat "$prefix/stderr.log" "$prefix/error.log" >&2; exit 1; }
    sleep 0.1
done
(exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || { echo "nginx is not listening on port $port" >&2; exit 1; }
base=http://127.0.0.1:$port

# --- checks and bytes per run ------------------------------------------------------------------------------------
# One run with a cold cache and an empty access log: prints the bytes nginx sent for it; fails unless the program
# printed "ready" and every answer was a 206.
bytes_of_one_run() { # NAME
    $hlvm cache clear > /dev/null
    : > "$prefix/access.log"
    out=$($hlvm run "$base/$1.hlb" --trust "$work/publisher.pub")
    [ "$out" = "ready" ] || { echo "$1: hlvm printed '$out', not 'ready'" >&2; exit 1; }
    sleep 0.2 # nginx writes a request's log line after its last byte is sent
    awk -v name="$1" '$1 != 206 { print name ": nginx answered " $0 > "/dev/stderr"; bad = 1 }
        { sum += $2 } END { if (bad || NR == 0) exit 1; print sum, NR }' "$prefix/access.log"
}
declare -A fetched requests
for app in small large; do
    per_run=()
    for _ in 1 2 3; do
        result=$(bytes_of_one_run "$app")
        read -r sum count <<< "$result"
        per_run+=("$sum")
    done
    # The same program with a cold cache fetches the same entries every time.
    [ "$(printf '%s\n' "${per_run[@]}" | sort -u | wc -l)" -eq 1 ] ||
        { echo "$app: the bytes sent differ between runs: ${per_run[*]}" >&2; exit 1; }
    fetched[$app]=${per_run[0]}
    requests[$app]=$count
done

# --- timing ------------------------------------------------------------------------------------------------------
for app in small large; do
    echo "== timing $app ($runs runs)" >&2
    : > "$prefix/access.log"
    hyperfine -N --warmup 1 --runs "$runs" --prepare "$hlvm cache clear" --export-json "$work/$app.json" \
        -n "$app" "$hlvm run $base/$app.hlb --trust $work/publisher.pub" > /dev/null
    sleep 0.2
    # Every run of hyperfine's fetched as much as the runs above.
    total=$(awk '$1 != 206 { bad = 1 } { sum += $2 } END { if (bad) print "bad"; else print sum }' "$prefix/access.log")
    [ "$total" = $(((runs + 1) * fetched[$app])) ] ||
        { echo "$app: nginx sent $total bytes in $((runs + 1)) runs, not $((runs + 1)) x ${fetched[$app]}" >&2; exit 1; }
done

python3 - "$work" "$(stat -c %s "$work/www/small.hlb")" "$(stat -c %s "$work/www/large.hlb")" \
    "${fetched[small]}" "${fetched[large]}" "${requests[small]}" "${requests[large]}" << 'PY'
import json, os, sys
work = sys.argv[1]
sizes = {"small": int(sys.argv[2]), "large": int(sys.argv[3])}
fetched = {"small": int(sys.argv[4]), "large": int(sys.argv[5])}
requests = {"small": int(sys.argv[6]), "large": int(sys.argv[7])}

def size(n):
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"

print("| bundle | bundle size | time to first output (mean ± sd) | bytes fetched (requests) | % of the bundle |")
print("| --- | ---: | ---: | ---: | ---: |")
means = {}
for app in ("small", "large"):
    r = json.load(open(os.path.join(work, app + ".json")))["results"][0]
    means[app] = r["mean"]
    print(f"| {app} | {size(sizes[app])} ({sizes[app]:,} B) | {r['mean'] * 1000:.0f} ± {r['stddev'] * 1000:.0f} ms"
          f" | {fetched[app]:,} B ({requests[app]}) | {100 * fetched[app] / sizes[app]:.3g}% |")
print()
print(f"large / small time: {means['large'] / means['small']:.2f}")
PY
