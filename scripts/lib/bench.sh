# shellcheck shell=bash
# Shared by scripts/bench/*: each runs one built entry point, building it first when it is
# missing or older than its sources. Build output goes to stderr: a bench's stdout is its JSON only.

# bench_stale ENTRY DIR...: true when ENTRY is missing or older than a .ts file under a DIR.
bench_stale() {
  local entry=$1
  shift
  [[ ! -f "$entry" ]] || [[ -n "$(find "$@" -name '*.ts' -newer "$entry" -print -quit 2>/dev/null)" ]]
}

# bench_build NAME COMMAND...: runs COMMAND with its output on stderr; exits when the
# workspace's dependencies are not installed.
bench_build() {
  local name=$1
  shift
  if [[ ! -d node_modules ]]; then
    echo "scripts/bench/$name: dependencies are not installed; run scripts/up once (or pnpm install)" >&2
    exit 1
  fi
  echo "scripts/bench/$name: building ($*)" >&2
  "$@" >&2
}
