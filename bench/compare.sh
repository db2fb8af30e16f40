#!/usr/bin/env bash
# Times `hlvm run` on each benchmark program in each engine (tiered, the default; jit; interp) beside the peer
# runtimes that are installed (Lua 5.4, LuaJIT, CPython, Node, Java, C#), checks that every runtime prints the
# expected line, and prints a markdown table of the times (hyperfine means) with the ratios of hlvm (tiered) to
# C#, Lua 5.4 and CPython, of the interpreter to the JIT, and their geometric means.
#
#   bench/compare.sh                 every program of bench/programs (the peers' seven and our own)
#   bench/compare.sh fib nbody       some of them
#   RUNS=5 bench/compare.sh          more runs per measurement (default 3)
#   COLD=1 bench/compare.sh          hlvm compiles the program at every run (by default it runs it from its cache)
#
# json, scheduler and interp have no peers; bench/ceiling holds them written in C#, timed as their csharp column.
#
# Needs hyperfine (apt-get install hyperfine lua5.4 luajit). The peers' programs are in ../shared/peers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS:-$root/../shared/peers}
runs=${RUNS:-3}
command -v hyperfine >/dev/null || { echo "compare.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[ -d "$peers" ] || { echo "compare.sh: no peer programs at $peers (set PEERS)" >&2; exit 2; }

# hlvm as it is deployed: a Release build compiled ahead of time (ReadyToRun), so that start-up is not JIT time.
dotnet publish "$root/src/Cli" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
  -o "$root/bench/.hlvm" -v q -nologo >/dev/null
hlvm="dotnet $root/bench/.hlvm/hlvm.dll"
if command -v dotnet >/dev/null && [ ! -f "$peers/csharp/out/PeerBench.dll" ]; then
  (cd "$peers/csharp" && dotnet build -c Release -o out >/dev/null)
fi
# The larger programs written directly in C# (bench/ceiling), built like the C# peer: the ceiling for our own three.
ceiling="$root/bench/.ceiling/Ceiling.dll"
if command -v dotnet >/dev/null && ! build=$(dotnet build "$root/bench/ceiling" -c Release -o "$root/bench/.ceiling" -v q -nologo 2>&1); then
  echo "$build" >&2; echo "compare.sh: bench/ceiling did not build" >&2; exit 1
fi
if command -v javac >/dev/null && [ ! -f "$peers/java/out/Bench.class" ]; then
  (cd "$peers/java" && javac -d out Bench.java)
fi

# The expected line of each peer program (../shared/peers/README.md); our own programs state theirs in their
# header, on the line after `// Full size (...) prints:`.
declare -A expected=(
  [fib]="9227465" [loop]="381271744" [sieve]="348513" [binarytrees]="14985902"
  [nbody]="-0.169075164 -0.169086185" [mandelbrot]="1017200" [mapcount]="1000003 20"
)

if [ $# -gt 0 ]; then names=("$@"); else
  names=(); for f in "$root"/bench/programs/*.hl; do names+=("$(basename "$f" .hl)"); done
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# hlvm keeps the programs it compiled in a cache of its own (README, "Storage"): a fresh one for this run, filled by
# the check of each program's output below, so that hlvm's figures are of a second run, which does not compile (as
# Java's and C#'s are of programs compiled beforehand). COLD=1 empties it before every run: each run compiles.
export HLVM_CACHE_HOME="$work/cache"
prepare=(); [ "${COLD:-}" = 1 ] && prepare=(--prepare "rm -rf $work/cache")
for name in "${names[@]}"; do
  prog="$root/bench/programs/$name.hl"
  [ -f "$prog" ] || { echo "no program $prog" >&2; exit 2; }
  cmds=(-n hlvm "$hlvm run $prog" -n hlvm-jit "$hlvm run --engine jit $prog" -n hlvm-interp "$hlvm run --engine interp $prog")
  if [ -n "${expected[$name]:-}" ]; then
    command -v lua5.4 >/dev/null && cmds+=(-n lua5.4 "lua5.4 $peers/bench.lua $name")
    command -v luajit >/dev/null && cmds+=(-n luajit "luajit $peers/bench.lua $name")
    command -v python3 >/dev/null && cmds+=(-n cpython "python3 $peers/bench.py $name")
    command -v node >/dev/null && cmds+=(-n node "node $peers/bench.js $name")
    [ -f "$peers/java/out/Bench.class" ] && cmds+=(-n java "java -cp $peers/java/out Bench $name")
    [ -f "$peers/csharp/out/PeerBench.dll" ] && cmds+=(-n csharp "dotnet $peers/csharp/out/PeerBench.dll $name")
  else
    expected[$name]=$(sed -n '/^\/\/ Full size .*prints:$/{n;s|^// ||p;q}' "$prog")
    [ -f "$ceiling" ] && grep -q "case \"$name\":" "$root/bench/ceiling/Program.cs" && cmds+=(-n csharp "dotnet $ceiling $name")
  fi
  # Every runtime must print the expected line before it is timed.
  [ -n "${expected[$name]}" ] || { echo "$name: the program states no expected line (// Full size ... prints:)" >&2; exit 2; }
  for ((k = 0; k < ${#cmds[@]}; k += 3)); do
    runtime=${cmds[k+1]}; cmd=${cmds[k+2]}
    out=$($cmd 2>&1 | tail -1)
    if [ "$out" != "${expected[$name]}" ]; then
      echo "$name: $runtime printed '$out', expected '${expected[$name]}'" >&2; exit 1
    fi
  done
  echo "timing $name ..." >&2
  hyperfine -N --warmup 1 --runs "$runs" "${prepare[@]}" --export-json "$work/$name.json" "${cmds[@]}" >/dev/null 2>&1
done

python3 - "$work" "${names[@]}" <<'PY'
import json, math, sys, os
work, names = sys.argv[1], sys.argv[2:]
cols = ["hlvm", "hlvm-jit", "hlvm-interp", "lua5.4", "luajit", "cpython", "node", "java", "csharp"]
times = {}
for n in names:
    data = json.load(open(os.path.join(work, n + ".json")))
    times[n] = {r["command"]: r["mean"] for r in data["results"]}
present = [c for c in cols if any(c in times[n] for n in names)]
# interp / csharp: how much faster than the interpreter C# itself runs the program, the ceiling of interp / hlvm.
ratio_cols = [("csharp", "hlvm / csharp"), ("lua5.4", "hlvm / lua5.4"), ("cpython", "hlvm / cpython"), ("hlvm", "interp / hlvm"),
              ("interp-csharp", "interp / csharp")]
print("| program | " + " | ".join(present) + " | " + " | ".join(name for _, name in ratio_cols) + " |")
print("| --- |" + " ---: |" * (len(present) + len(ratio_cols)))
ratios = {c: [] for c, _ in ratio_cols}
for n in names:
    t = times[n]
    row = [f"{t[c]:.2f} s" if c in t else "" for c in present]
    cells = []
    for c, _ in ratio_cols:
        if c == "hlvm": r = t["hlvm-interp"] / t["hlvm"]
        elif c == "interp-csharp": r = t["hlvm-interp"] / t["csharp"] if "csharp" in t else None
        else: r = t["hlvm"] / t[c] if c in t else None
        # the peers' geometric means are over the peer programs (those with peer times)
        if r and (c in ("hlvm", "interp-csharp") or "lua5.4" in t): ratios[c].append(r)
        cells.append(f"{r:.2f}" if r else "")
    print(f"| {n} | " + " | ".join(row) + " | " + " | ".join(cells) + " |")
geo = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None
means = [geo(ratios[c]) for c, _ in ratio_cols]
print("| geometric mean | " + " | ".join("" for _ in present) + " | " + " | ".join(f"{m:.2f}" if m else "" for m in means) + " |")
PY
