#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs a program
# against it twice: with pkg-config, and with CMake's find_package.
# Usage: test_install.sh <build dir> <source dir> [extra compiler flags]
set -euo pipefail
build=$1 src=$2 flags=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
pc=$(dirname "$(find "$prefix" -name wschannels.pc)")
libdir=$(dirname "$pc")

echo "== pkg-config"
export PKG_CONFIG_PATH=$pc
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror $flags -o "$prefix/app_pc" "$src/test/install/app.c" \
  $(pkg-config --cflags --libs wschannels) -Wl,-rpath,"$libdir"
"$prefix/app_pc"
# shellcheck disable=SC2046,SC2086
c++ -std=c++17 -Wall -Wextra -Werror $flags -o "$prefix/app_cpp_pc" "$src/test/install/app.cpp" \
  $(pkg-config --cflags --libs wschannels) -Wl,-rpath,"$libdir"
"$prefix/app_cpp_pc"

echo "== find_package"
cmake -S "$src/test/install" -B "$prefix/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_BUILD_RPATH="$libdir" > /dev/null
cmake --build "$prefix/cmake-build" > /dev/null
"$prefix/cmake-build/app"
"$prefix/cmake-build/app_cpp"
echo "== Python package and wschannels-send"
if [ -z "$flags" ] && [ -d "$prefix/lib" ]; then  # (an ASan module needs a preload)
  pydir=$(dirname "$(find "$prefix" -path '*dist-packages/wschannels/__init__.py' | head -1)")
  PYTHONPATH=$(dirname "$pydir") /usr/bin/python3 -c \
    'import wschannels; print("installed python package", wschannels.__version__, wschannels.__file__)'
  PYTHONPATH=$(dirname "$pydir") "$prefix/bin/wschannels-send" --help > /dev/null
fi
echo "install check passed"
