#!/usr/bin/env bash
# Compile and verify time against input size, for the shapes of input that once took polynomial time: nested
# ifs, else-if chains, `??` chains, `+` chains, class chains, null guards, `&&` chains of null tests, misspelt
# names, syntax errors on one line (compile), and functions with many locals under many exception handlers (verify alone, from a .hlc). Each shape is generated at doubling sizes; the time shown is
# the best of RUNS runs of `hlvm check` (default 3) minus that of an empty program, so start-up is left out.
# Linear growth doubles the time with the size. Usage: bash bench/compile-scaling.sh [shape...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
dotnet publish "$root/src/Cli" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
  -o "$root/bench/.hlvm" -v q -nologo >/dev/null
hlvm="dotnet $root/bench/.hlvm/hlvm.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# gen SHAPE N FILE: writes the program of that shape and size.
gen() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
shape, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = []
if shape == "nested-if":
    lines += ["fn main() {", "    let x = 1"] + ["    if x > 0 {"] * n + ["    println(x)"] + ["    }"] * n + ["}"]
elif shape == "else-if":
    lines += ["fn main() {", "    let x = 1", "    if x == 0 { println(0) }"]
    lines += [f"    else if x == {i} {{ println({i}) }}" for i in range(1, n)] + ["}"]
elif shape == "coalesce":
    lines += ["fn main() {", "    let x: string? = null", "    println(" + " ?? ".join(["x"] * n) + " ?? \"end\")", "}"]
elif shape == "plus":
    lines += ["fn main() {", "    let x = 1" + " + 1" * n, "    println(x)", "}"]
elif shape == "classes":
    lines += ["class C0 { }"] + [f"class C{i} : C{i - 1} {{ }}" for i in range(1, n)] + ["fn main() { println(1) }"]
elif shape == "handlers":
    # n locals under n/3 nested try blocks, each local written inside them.
    h = max(1, n // 3)
    lines += ["fn main() {"] + [f"    var v{i} = {i}" for i in range(n)] + ["    try {"] * h
    lines += [f"        v{i} = v{(i + 1) % n} + 1" for i in range(n)] + ["    } catch e: Error { v0 = 1 }"] * h
    lines += ["    println(v0)", "}"]
elif shape == "guards":
    # n nullable locals, each followed by a guard that returns when it is null.
    lines += ["fn g() -> string? { return \"a\" }", "fn main() {"]
    for i in range(n): lines += [f"    let x{i} = g()", f"    if x{i} == null {{ return }}"]
    lines += ["    println(x0.len())", "}"]
elif shape == "and-chain":
    # one condition of n null tests joined by &&.
    lines += ["fn g() -> string? { return \"a\" }", "fn main() {"] + [f"    let x{i} = g()" for i in range(n)]
    lines += ["    if " + " && ".join(f"x{i} != null" for i in range(n)) + " { println(x0.len()) }", "}"]
elif shape == "misspelt":
    # n locals, then n uses of names close to theirs that are not defined (past the 100 errors reported).
    lines += ["fn main() {"] + [f"    let abc{i} = {i}" for i in range(n)] + [f"    println(abd{i})" for i in range(n)] + ["}"]
elif shape == "line-errors":
    # n syntax errors on one line: a function header without its body, n times.
    lines += [" ".join(f"fn a{i}() x" for i in range(n))]
open(out, "w").write("\n".join(lines) + "\n")
PY
}

best() { # best wall time in ms of RUNS runs of a command
  local best=""
  for _ in $(seq "$runs"); do
    local s e t
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    t=$(( (e - s) / 1000000 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

echo 'fn main() { }' > "$work/empty.hl"
base=$(best $hlvm check "$work/empty.hl")
$hlvm build "$work/empty.hl" -o "$work/empty.hlc" >/dev/null
base_hlc=$(best $hlvm check "$work/empty.hlc")
echo "start-up: check of an empty program ${base} ms (.hl), ${base_hlc} ms (.hlc); subtracted below"

declare -A sizes=(
  [nested-if]="100 200 400 800"
  [else-if]="1000 2000 4000 8000"
  [coalesce]="1000 2000 4000 8000"
  [plus]="1250 2500 5000 10000"
  [classes]="125 250 500 1000"
  [handlers]="300 600 1200 2400"
  [guards]="2000 4000 8000 16000"
  [and-chain]="500 1000 2000 4000"
  [misspelt]="1000 2000 4000 8000"
  [line-errors]="4000 8000 16000 32000"
)
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(nested-if else-if coalesce plus classes handlers guards and-chain misspelt line-errors)
printf '%-10s %8s %10s %12s\n' shape size bytes "time (ms)"
for shape in "${shapes[@]}"; do
  for n in ${sizes[$shape]}; do
    f="$work/$shape-$n.hl"
    gen "$shape" "$n" "$f"
    if [ "$shape" = handlers ]; then
      $hlvm build "$f" -o "$work/$shape-$n.hlc" >/dev/null
      t=$(best $hlvm check "$work/$shape-$n.hlc"); t=$((t - base_hlc))
      bytes=$(stat -c %s "$work/$shape-$n.hlc")
    else
      t=$(best $hlvm check "$f"); t=$((t - base))
      bytes=$(stat -c %s "$f")
    fi
    printf '%-10s %8s %10s %12s\n' "$shape" "$n" "$bytes" "$t"
  done
done
