#!/usr/bin/env bash
# Times hlvm's start-up as it is deployed (Release, ReadyToRun: the build scripts/hlvm makes) against a C# hello
# world run the same way (`dotnet hello.dll`, Release): `hlvm --version`, `hlvm run hello.hl` compiling the
# program and taking it from the cache of compiled programs, and `hlvm run hello.hlc` (a compiled module:
# verified and run). Prints a markdown table of the
# hyperfine times and each one's ratio to the C# hello world; checks every command's output first.
#
#   bench/startup.sh                    RUNS=50 bench/startup.sh (default 30 runs each, after 3 warm-ups)
#   HLVM=/path/to/hlvm.dll bench/startup.sh     time another build of hlvm (default: the one scripts/hlvm builds)
#
# Needs hyperfine (apt-get install -y hyperfine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
command -v hyperfine >/dev/null || { echo "startup.sh needs hyperfine (apt-get install -y hyperfine)" >&2; exit 2; }

if [ -z "${HLVM:-}" ]; then
  HLVM_QUIET_BUILD=1 "$root/scripts/hlvm" --version >/dev/null   # builds .hlvm/ when it is missing or stale
  HLVM="$root/.hlvm/hlvm.dll"
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The C# hello world, built Release like any deployed .NET program.
mkdir "$work/cs"
cat >"$work/cs/hello.csproj" <<'EOF'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <AssemblyName>hello</AssemblyName>
  </PropertyGroup>
</Project>
EOF
echo 'System.Console.WriteLine("Hello, world!");' >"$work/cs/Program.cs"
dotnet build "$work/cs" -c Release -o "$work/cs/out" -v q -nologo >/dev/null

cp "$root/examples/hello.hl" "$work/hello.hl"
# hlvm's cache of compiled programs, a fresh one: `run hello.hl` is timed from it (a second run) and compiling
# (the cache emptied before each run).
export HLVM_CACHE_HOME="$work/cache"
dotnet "$HLVM" build "$work/hello.hl" -o "$work/hello.hlc" >/dev/null
for cmd in "dotnet $work/cs/out/hello.dll" "dotnet $HLVM run $work/hello.hl" "dotnet $HLVM run $work/hello.hlc"; do
  out=$($cmd)
  [ "$out" = "Hello, world!" ] || { echo "startup.sh: '$cmd' printed '$out'" >&2; exit 1; }
done

hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  --prepare true --prepare true --prepare "rm -rf $work/cache" --prepare true --prepare true \
  -n "dotnet hello.dll (C#)" "dotnet $work/cs/out/hello.dll" \
  -n "hlvm --version" "dotnet $HLVM --version" \
  -n "hlvm run hello.hl (compiling)" "dotnet $HLVM run $work/hello.hl" \
  -n "hlvm run hello.hl (from the cache)" "dotnet $HLVM run $work/hello.hl" \
  -n "hlvm run hello.hlc" "dotnet $HLVM run $work/hello.hlc" >/dev/null 2>&1

python3 - "$work/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]
print("| command | mean | ± σ | min | user + sys | mean / C# |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for r in results:
    print(f"| `{r['command']}` | {r['mean']*1000:.1f} ms | {r['stddev']*1000:.1f} | {r['min']*1000:.1f} ms "
          f"| {(r['user'] + r['system'])*1000:.1f} ms | {r['mean'] / base['mean']:.2f} |")
PY
