#!/usr/bin/env bash
# Builds Alloquy's InspIRCd 3 modules and turns a directory into a complete
# InspIRCd module directory.
#
#   bash infra/inspircd/modules/build.sh [DIR]
#
# DIR defaults to $ALLOQUY_HOME/inspircd/modules (ALLOQUY_HOME defaults to
# <repo>/.alloquy, a relative ALLOQUY_HOME is taken from the current directory).
#
# Why a directory of its own: InspIRCd 3 refuses module names containing a
# path ("You can't load modules with a path"), and it loads every module,
# including its core_*.so, from the single <path moduledir>. So DIR gets our
# .so files plus a symlink to each stock module of the Debian package, and the
# config points <path moduledir> at DIR. Nothing is written to system folders.
#
# Idempotent: a module is recompiled only when its source or this script is
# newer than the .so, or when the InspIRCd headers, ABI or compiler changed
# (recorded in a stamp file next to it). Symlinks are refreshed every run
# (cheap), so modules added or removed by a package upgrade are picked up.
#
# Needs g++ and Debian's inspircd-dev (apt-get install -y inspircd-dev).
# Environment overrides: CXX, INSPIRCD_INCLUDE, INSPIRCD_STOCK_MODULES.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

if [[ $# -ge 1 && -n "$1" ]]; then
  out="$1"
else
  home="${ALLOQUY_HOME:-$repo/.alloquy}"
  [[ "$home" = /* ]] || home="$PWD/$home"
  out="$home/inspircd/modules"
fi

cxx="${CXX:-g++}"
inc="${INSPIRCD_INCLUDE:-/usr/include/inspircd}"
stock="${INSPIRCD_STOCK_MODULES:-/usr/lib/inspircd/modules}"

die() { echo "build.sh: $*" >&2; exit 1; }

[[ -f "$inc/inspircd.h" && -f "$inc/moduledefs.h" ]] ||
  die "InspIRCd headers not found in $inc (install them: apt-get install -y inspircd-dev)"
[[ -d "$stock" ]] || die "stock InspIRCd modules not found in $stock (apt-get install -y inspircd)"
command -v "$cxx" >/dev/null || die "C++ compiler '$cxx' not found (apt-get install -y g++)"

mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The headers pin the exact InspIRCd release and module ABI; InspIRCd refuses
# a module built for another ABI, so any change there forces a rebuild.
hdr_version="$(sed -n 's/^#define INSPIRCD_VERSION "\(.*\)"/\1/p' "$inc/config.h")"
hdr_abi="$(sed -n 's/^#define MODULE_ABI \([0-9A-Za-z]*\)/\1/p' "$inc/moduledefs.h")"
[[ -n "$hdr_version" && -n "$hdr_abi" ]] || die "cannot read the InspIRCd version/ABI from $inc"
cxx_version="$("$cxx" -dumpfullversion -dumpversion 2>/dev/null | head -n1)"

# Match how Debian built InspIRCd: g++'s default gnu++17 with the cxx11 string
# ABI, and no RTTI (the daemon exports no typeinfo for Module & co., so a
# module built with RTTI fails to load with "undefined symbol: _ZTI6Module").
# Hidden visibility so only MODULE_INIT's symbols are exported, as InspIRCd's
# own build does; Debian's usual hardening.
cxxflags=(-std=gnu++17 -fno-rtti -O2 -g0 -pipe -fPIC -shared
  -fvisibility=hidden -fvisibility-inlines-hidden
  -Wall -Wextra -Wshadow -Wno-unused-parameter
  -fstack-protector-strong -D_FORTIFY_SOURCE=2
  -Wl,-z,relro -Wl,-z,now -Wl,--as-needed)

built=()
for src in "$here"/m_*.cpp; do
  [[ -e "$src" ]] || continue
  name="$(basename "$src" .cpp)"
  so="$out/$name.so"
  stamp="$out/.$name.stamp"
  want="inspircd=$hdr_version abi=$hdr_abi cxx=$cxx $cxx_version flags=${cxxflags[*]}"

  if [[ -f "$so" && ! -L "$so" && "$so" -nt "$src" && "$so" -nt "${BASH_SOURCE[0]}" \
        && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "build.sh: $name.so is up to date"
  else
    tmp="$(mktemp "$out/.$name.XXXXXX.so")"
    trap 'rm -f "$tmp"' EXIT
    "$cxx" "${cxxflags[@]}" -I"$inc" -DMODNAME="\"$name\"" -o "$tmp" "$src"
    chmod 0755 "$tmp"
    # rename(2): an InspIRCd that already mapped the old file keeps it intact.
    mv -f "$tmp" "$so"
    trap - EXIT
    printf '%s\n' "$want" >"$stamp"
    echo "build.sh: built $so"
  fi
  built+=("$name.so")
done

# Link every stock module we do not provide ourselves.
for mod in "$stock"/*.so; do
  [[ -e "$mod" ]] || continue
  base="$(basename "$mod")"
  skip=0
  for b in "${built[@]}"; do [[ "$b" == "$base" ]] && skip=1; done
  ((skip)) && continue
  if [[ -e "$out/$base" && ! -L "$out/$base" ]]; then
    echo "build.sh: warning: $out/$base is a regular file, not replacing it with the stock module" >&2
    continue
  fi
  [[ -L "$out/$base" && "$out/$base" -ef "$mod" ]] || ln -sfn "$mod" "$out/$base"
done

# Drop links to stock modules that a package upgrade removed.
for link in "$out"/*.so; do
  [[ -L "$link" && ! -e "$link" ]] && rm -f "$link"
done

echo "build.sh: module directory ready: $out"
