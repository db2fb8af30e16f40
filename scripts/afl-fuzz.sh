#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ and SharpFuzz (see docs/afl.md). Not part of CI.
#
#   scripts/afl-fuzz.sh modules  [SECONDS]   the module loader, verifier and interpreter
#   scripts/afl-fuzz.sh compiler [SECONDS]   the compiler
#
# From a fresh clone: installs afl++ (apt-get) if it is missing, restores the sharpfuzz tool, builds in Release,
# instruments Hlvm.Runtime.dll and Hlvm.Compiler.dll, builds the seed corpus from the language tests, the examples
# and the verifier's conformance suite, and runs afl-fuzz for SECONDS (default 600). Everything it writes is under
# tests/Hlvm.AflFuzz/out/TARGET/: bin/ (the instrumented build), seeds/, and findings/ (afl-fuzz's output; crashes
# in findings/default/crashes/). A second run of the same target resumes from its findings; delete findings/ to
# start afresh. The two targets can run at the same time, one core each.
#
# Environment: HLVM_AFL_TIMEOUT_MS (default 5000) is afl-fuzz's -t; extra afl-fuzz options go after SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
    echo "usage: scripts/afl-fuzz.sh modules|compiler [SECONDS] [AFL-FUZZ-OPTIONS...]" >&2
    exit 64
}
target=${1:-}
case "$target" in modules | compiler) ;; *) usage ;; esac
seconds=${2:-600}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage
shift $(($# < 2 ? $# : 2))

project=tests/Hlvm.AflFuzz
out=$root/$project/out/$target
bin=$out/bin
seeds=$out/seeds
findings=$out/findings
cli="dotnet $root/src/Cli/bin/Release/net10.0/hlvm.dll"
mkdir -p "$out"

# --- afl++ -------------------------------------------------------------------------------------------------------
if ! command -v afl-fuzz > /dev/null; then
    echo "== installing afl++"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q afl++
fi

# --- build and instrument ----------------------------------------------------------------------------------------
# The builds share obj/ folders, so two runs of this script take turns here.
exec 9> "$root/$project/out/.build.lock"
flock 9
echo "== restoring the sharpfuzz tool"
(cd "$project" && dotnet tool restore > /dev/null)
echo "== building (Release)"
dotnet build src/Cli -c Release -v q -nologo
rm -rf "$bin"
dotnet publish "$project" -c Release -o "$bin" -v q -nologo
echo "== instrumenting"
for dll in Hlvm.Runtime.dll Hlvm.Compiler.dll; do
    (cd "$project" && dotnet tool run sharpfuzz "$bin/$dll")
    # An instrumented assembly references SharpFuzz.Common, where the coverage map is.
    grep -q SharpFuzz.Common "$bin/$dll" || { echo "$dll was not instrumented" >&2; exit 1; }
    echo "$dll instrumented"
done
flock -u 9

# --- seeds -------------------------------------------------------------------------------------------------------
echo "== building the seed corpus"
rm -rf "$seeds"
mkdir -p "$seeds"
seed_name() { echo "$seeds/$(echo "${1%.*}" | tr / _)"; }
if [ "$target" = compiler ]; then
    for f in $(find tests/lang examples -name '*.hl'); do cp "$f" "$(seed_name "$f").hl"; done
else
    # Every program that compiles (some language tests are meant not to), and every module of the conformance
    # suite that assembles (the valid ones and those the verifier must reject), one per core at a time.
    build_seed() {
        case "$1" in
            *.hl) $cli build "$1" -o "$(seed_name "$1").hlc" ;;
            *.hlasm) $cli asm "$1" -o "$(seed_name "$1").hlc" ;;
        esac > /dev/null 2>&1 || true
    }
    export -f build_seed seed_name
    export cli seeds
    find tests/lang examples tests/verifier/valid tests/verifier/invalid -name '*.hl' -o -name '*.hlasm' |
        xargs -P "$(nproc)" -n 1 bash -c 'build_seed "$0"'
fi
echo "$(find "$seeds" -type f | wc -l) seeds in $seeds"

# The compiler's dictionary: every literal token of the lexer grammar.
dict=()
if [ "$target" = compiler ]; then
    grep -o "'[^'\\\\]*'" src/Compiler/Syntax/HlLexer.g4 | sort -u |
        sed -e "s/^'//" -e "s/'$//" -e 's/"/\\"/g' | awk 'length > 0 && !/ / { print "\"" $0 "\"" }' > "$out/hl.dict"
    dict=(-x "$out/hl.dict")
fi

# --- fuzz --------------------------------------------------------------------------------------------------------
# dotnet is no AFL-instrumented binary (the instrumentation is in the .NET assemblies), so skip the binary check;
# containers often forward core dumps to a handler, which only matters for native crashes.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
[ -t 1 ] || export AFL_NO_UI=1
if [ -d "$findings/default/queue" ]; then
    echo "== resuming from $findings"
    export AFL_AUTORESUME=1
fi
echo "== afl-fuzz $target for $seconds s"
status=0
afl-fuzz -i "$seeds" -o "$findings" -V "$seconds" -t "${HLVM_AFL_TIMEOUT_MS:-5000}" -m none "${dict[@]}" "$@" \
    -- "$(command -v dotnet)" "$bin/Hlvm.AflFuzz.dll" "$target" || status=$?

# --- summary -----------------------------------------------------------------------------------------------------
stats=$findings/default/fuzzer_stats
if [ -f "$stats" ]; then
    echo "== $target: summary"
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|corpus_found|edges_found|bitmap_cvg|stability|saved_crashes|saved_hangs) ' "$stats"
    crashes=$(find "$findings/default/crashes" -name 'id:*' 2> /dev/null | wc -l)
    if [ "$crashes" -gt 0 ]; then
        echo "$crashes crashing inputs in $findings/default/crashes; reproduce one with"
        echo "  dotnet $bin/Hlvm.AflFuzz.dll $target < FILE"
    fi
fi
exit "$status"
