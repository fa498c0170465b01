#!/usr/bin/env bash
# Passes only if cpp_compile_fail.cpp fails to compile with the header's
# readable message, while the same file minus the bad line compiles.
set -u
cxx=$1 src=$2 file=$3
flags=(-std=c++17 -fsyntax-only -I"$src/include" -I"$src/cpp" -I"$src/test")
out=$("$cxx" "${flags[@]}" "$file" 2>&1) && { echo "compiled, but must not"; exit 1; }
grep -q "this consumer does not declare this event type" <<< "$out" ||
  { echo "failed for another reason:"; echo "$out" | head -20; exit 1; }
grep -v 'JobResult{"wrong"}' "$file" > "${TMPDIR:-/tmp}/cpp_compile_ok.cpp"
"$cxx" "${flags[@]}" -I"$(dirname "$file")" "${TMPDIR:-/tmp}/cpp_compile_ok.cpp" ||
  { echo "the declared event does not compile"; exit 1; }
echo "compile-fail check passed"
