#!/usr/bin/env bash
# Crystal Bay Travel: one command to set up and run.
#   ./dev.sh          set up (venv, packages, bun, migrations, first admin, demo data) and run the app
#   ./dev.sh test     set up (plus test tools and Debian chromium) and run the whole test suite
#   ./dev.sh setup    set up only
# Extra arguments after `test` go to pytest (e.g. ./dev.sh test -k login).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
MODE=${1:-run}
[ $# -gt 0 ] && shift

say() { printf '\033[1;36m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

find_python() {
  local c
  for c in python3.12 python3.13; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for c in "$(pyenv root)"/versions/3.12*/bin/python3 "$(pyenv root)"/versions/3.13*/bin/python3; do
      [ -x "$c" ] && { echo "$c"; return 0; }
    done
  fi
  return 1
}

setup_python() {
  local stamp=.venv/.requirements-$1 want
  if [ ! -x .venv/bin/python ]; then
    local py
    py=$(find_python) || die "Python 3.12 or newer is needed (python3.12 on PATH, or installed with pyenv)."
    say "Creating .venv with $("$py" --version)"
    "$py" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  want=$(cat requirements.txt "$2" 2>/dev/null | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages ($2)"
    .venv/bin/python -m pip install -q -r "$2"
    echo "$want" > "$stamp"
  fi
}

setup_bun() {
  # Reflex's own bun download needs the internet; the npm package `bun` ships the binary.
  if [ ! -x .tools/bun/node_modules/.bin/bun ]; then
    command -v npm >/dev/null 2>&1 || die "npm (Node.js) is needed to install bun from the npm registry."
    say "Installing bun from the npm registry"
    npm install --silent --no-audit --no-fund --prefix .tools/bun bun@1.4.5 >/dev/null
  fi
  export PATH="$ROOT/.tools/bun/node_modules/.bin:$PATH"
  export REFLEX_USE_SYSTEM_BUN=1
}

setup_database() {
  say "Applying migrations"
  .venv/bin/python -m crystal_bay migrate
  .venv/bin/python -m crystal_bay bootstrap
}

setup_test_tools() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "Installing Debian chromium and chromium-driver for browser tests"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
}

case "$MODE" in
  run)
    setup_python runtime requirements.txt
    setup_bun
    setup_database
    # Hot reload watches only the code: by default Reflex watches every folder of the repo, so each write
    # to the SQLite database under data/ (a login, a poll) would restart the backend and drop the session.
    export REFLEX_HOT_RELOAD_OVERRIDE_PATHS="${REFLEX_HOT_RELOAD_OVERRIDE_PATHS:-$ROOT/crystal_bay:$ROOT/assets}"
    say "Starting Crystal Bay on http://localhost:3000 (backend and API on http://127.0.0.1:8000, docs at /docs)"
    exec .venv/bin/reflex run --backend-host 127.0.0.1 "$@"
    ;;
  setup)
    setup_python runtime requirements.txt
    setup_bun
    setup_database
    ;;
  test)
    setup_python dev requirements-dev.txt
    setup_bun
    setup_test_tools
    say "Running the test suite"
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    die "unknown mode '$MODE' (use: ./dev.sh, ./dev.sh test, ./dev.sh setup)"
    ;;
esac
