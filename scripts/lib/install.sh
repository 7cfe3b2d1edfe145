# shellcheck shell=bash
# Installs what Alloquy needs on Debian 12. Sourced by scripts/up and
# scripts/test; every function is idempotent and silent when there is nothing
# to do. The caller sets the shell options (scripts use `set -euo pipefail`).

ALLOQUY_PNPM_VERSION="${ALLOQUY_PNPM_VERSION:-9.15.9}"
# inspircd-dev and g++ build our InspIRCd module (infra/inspircd/modules); make, g++ and python3
# let node-gyp build better-sqlite3 where no prebuilt binary fits.
# acl: setfacl lets Murmur (which drops to mumble-server) pass through a 0700 folder such as /root.
ALLOQUY_APT_PACKAGES=(inspircd inspircd-dev mumble-server coturn openssl acl g++ make python3 imagemagick)
# Only the tests need these: headless Chromium (driven by playwright-core) for the WebRTC tests.
ALLOQUY_TEST_APT_PACKAGES=(chromium)
# Debian starts these daemons with their stock configs where systemd runs;
# Alloquy runs its own instances on the same ports.
ALLOQUY_DISTRO_DAEMONS=(inspircd mumble-server coturn)

alloquy_log() {
  printf '==> %s\n' "$*" >&2
}

alloquy_die() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

# Runs a command with its output captured; shows the output only if it fails.
alloquy_quietly() {
  local description=$1
  shift
  local output status=0
  output=$(mktemp)
  "$@" >"$output" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    printf 'error: %s failed (exit %s):\n' "$description" "$status" >&2
    tail -n 60 "$output" >&2
  fi
  rm -f "$output"
  return "$status"
}

# Prefix for commands that need root: nothing as root, sudo otherwise.
alloquy_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    alloquy_die "installing system packages needs root; run as root or install sudo" || return 1
  fi
}

alloquy_package_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# ensure_apt_packages [package...]: installs the missing ones (default: the stack's daemons and openssl).
ensure_apt_packages() {
  local packages=("$@")
  [ "${#packages[@]}" -gt 0 ] || packages=("${ALLOQUY_APT_PACKAGES[@]}")
  command -v dpkg-query >/dev/null 2>&1 || { alloquy_die "dpkg-query not found: scripts/up supports Debian 12" || return 1; }

  local missing=() package
  for package in "${packages[@]}"; do
    alloquy_package_installed "$package" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  alloquy_log "Installing Debian packages: ${missing[*]}"
  alloquy_quietly "apt-get update" alloquy_as_root apt-get update -qq || return 1
  alloquy_quietly "apt-get install ${missing[*]}" \
    alloquy_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1

  # Only daemons installed just now: an operator's existing setup is left alone.
  if [ -d /run/systemd/system ]; then
    local daemon
    for daemon in "${ALLOQUY_DISTRO_DAEMONS[@]}"; do
      if [[ " ${missing[*]} " == *" $daemon "* ]]; then
        alloquy_as_root systemctl disable --now "$daemon" >/dev/null 2>&1 || true
      fi
    done
  fi
}

alloquy_pnpm_ok() {
  local version
  version=$(pnpm --version 2>/dev/null) || return 1
  [ "${version%%.*}" = "${ALLOQUY_PNPM_VERSION%%.*}" ]
}

# ensure_pnpm: pnpm of the pinned major version on PATH (corepack first, npm as the fallback).
ensure_pnpm() {
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
    { alloquy_die "Node.js 20 or newer is required and node was not found" || return 1; }
  [ "$node_major" -ge 20 ] ||
    { alloquy_die "Node.js 20 or newer is required, found $(node --version)" || return 1; }

  alloquy_pnpm_ok && return 0
  alloquy_log "Installing pnpm ${ALLOQUY_PNPM_VERSION}"
  # Try corepack without touching PATH first: where its signature check fails
  # (it does on some machines), enabling it would leave a broken pnpm shim.
  if command -v corepack >/dev/null 2>&1 &&
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0 corepack "pnpm@${ALLOQUY_PNPM_VERSION}" --version >/dev/null 2>&1 &&
    alloquy_as_root corepack enable pnpm >/dev/null 2>&1 &&
    alloquy_pnpm_ok; then
    return 0
  fi
  alloquy_quietly "npm install -g pnpm@${ALLOQUY_PNPM_VERSION}" \
    alloquy_as_root npm install -g --no-fund --no-audit "pnpm@${ALLOQUY_PNPM_VERSION}" || return 1
  hash -r
  alloquy_pnpm_ok || alloquy_die "pnpm ${ALLOQUY_PNPM_VERSION} was installed but \`pnpm --version\` does not report it" || return 1
}

# ensure_workspace [repo root]: installs the workspace's dependencies and builds every package.
ensure_workspace() {
  local root=${1:-$PWD}
  if [ -f "$root/pnpm-lock.yaml" ]; then
    alloquy_quietly "pnpm install --frozen-lockfile" pnpm --dir "$root" install --frozen-lockfile || return 1
  else
    alloquy_quietly "pnpm install" pnpm --dir "$root" install || return 1
  fi
  # The root build is one `tsc -b` over every package in dependency order: `pnpm -r build` runs
  # packages side by side and does not wait for a workspace devDependency's build.
  alloquy_quietly "pnpm run build" pnpm --dir "$root" run build || return 1
}
