#!/usr/bin/env bash
# Regenerates the C# lexer and parser from src/Compiler/Syntax/HlLexer.g4 and HlParser.g4 with antlr-ng (installed locally with npm
# on first use). Usage: scripts/gen-parser.sh [OUTDIR]   (default: src/Compiler/Syntax/Generated)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/src/Compiler/Syntax/Generated}
tools=$root/scripts/.antlr
if [ ! -x "$tools/node_modules/.bin/antlr-ng" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --silent --no-audit --no-fund antlr-ng@1.0.10 >/dev/null)
fi
mkdir -p "$out"
cd "$root/src/Compiler/Syntax"
"$tools/node_modules/.bin/antlr-ng" -Dlanguage=CSharp --package Hlvm.Compiler.Syntax --generate-visitor true \
  --generate-listener false -o "$out" HlLexer.g4 HlParser.g4
# antlr-ng writes the token and interpreter files too; only the C# sources are part of the build.
rm -f "$out"/*.tokens "$out"/*.interp
