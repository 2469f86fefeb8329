#!/usr/bin/env bash
# Install what IPC Lab needs on Debian or Ubuntu. Idempotent, and quick when everything is there:
# apt-get runs only when a package is missing, pip only when e2e/requirements.txt changed.
#
#   scripts/setup.sh                 to build and serve: libmicrohttpd-dev, pkg-config, zlib1g-dev,
#                                    libsqlite3-dev, libpq-dev and liblz4-dev (the run store: SQLite,
#                                    or PostgreSQL with --database; traces compressed by LZ4), gcc
#                                    and libc6-dev (C programs)
#   scripts/setup.sh --test          and the e2e tests' Python packages (e2e/requirements.txt),
#                                    in a virtualenv; postgresql and nginx (the stored-run tests start
#                                    a PostgreSQL cluster of their own, and nginx in front of several
#                                    instances)
#   scripts/setup.sh --bench         and what the benchmark needs: wrk, nginx-light, gcc, postgresql
#   scripts/setup.sh --test --browser
#                                    and what the page's browser tests need: Debian's chromium
#                                    (Playwright drives it; no browser is downloaded) with fonts,
#                                    and e2e/browser/requirements.txt
#
# Environment:
#   IPCLAB_VENV      the virtualenv for the tests (default: .build/e2e-venv; it sees the system's
#                    site-packages, so pip installs only what is missing or at another version)
#   IPCLAB_BROWSER=1 the same as --browser
#
# Swift itself (6.x) must already be installed: this script checks for it and says so.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_test=0
want_bench=0
want_browser=${IPCLAB_BROWSER:-0}
for arg in "$@"; do
    case "$arg" in
        --test) want_test=1 ;;
        --browser) want_browser=1 ;;
        --bench) want_bench=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done
[ "$want_browser" = 1 ] && want_test=1

say() { echo "setup: $*"; }

# ---------------------------------------------------------------- apt
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "setup.sh: need root (or sudo) to run: $*" >&2; exit 1
    fi
}

is_installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }

apt_updated=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: missing ${missing[*]} and no apt-get: install them by hand" >&2
        exit 1
    fi
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    say "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        </dev/null
}

if ! command -v swift >/dev/null 2>&1; then
    echo "setup.sh: no 'swift' on PATH: install a Swift 6 toolchain first" >&2
    exit 1
fi

# gcc and libc6-dev: students' C programs are compiled inside each run's sandbox (README, "C programs").
apt_packages=(libmicrohttpd-dev pkg-config zlib1g-dev libsqlite3-dev libpq-dev liblz4-dev gcc libc6-dev)
if [ "$want_browser" = 1 ]; then
    apt_packages+=(chromium fonts-liberation fonts-dejavu-core)
fi
if [ "$want_bench" = 1 ]; then
    apt_packages+=(wrk nginx-light gcc libc6-dev postgresql)
fi
if [ "$want_test" = 1 ]; then
    apt_packages+=(postgresql nginx)
    if ! command -v python3 >/dev/null 2>&1; then
        apt_packages+=(python3 python3-venv)
    elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_packages+=(python3-venv)  # Debian's python3 has venv without ensurepip otherwise
    fi
fi
apt_install "${apt_packages[@]}"

for pc in libmicrohttpd:libmicrohttpd-dev libpq:libpq-dev liblz4:liblz4-dev; do
    if ! pkg-config --exists "${pc%%:*}"; then
        echo "setup.sh: pkg-config cannot find ${pc%%:*} after installing ${pc#*:}" >&2
        exit 1
    fi
done

# ---------------------------------------------------------- python (tests)
if [ "$want_test" = 1 ]; then
    venv=${IPCLAB_VENV:-.build/e2e-venv}
    requirements=(e2e/requirements.txt)
    if [ "$want_browser" = 1 ]; then
        requirements+=(e2e/browser/requirements.txt)
    fi
    stamp="$venv/.ipclab-requirements"
    wanted="$(python3 -c 'import sys; print(sys.version)' | head -1) $(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        if [ ! -x "$venv/bin/python" ]; then
            say "python3 -m venv $venv"
            mkdir -p "$(dirname "$venv")"
            python3 -m venv --system-site-packages "$venv"
        fi
        pip_args=()
        for r in "${requirements[@]}"; do pip_args+=(-r "$r"); done
        say "pip install ${pip_args[*]}"
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
            "$venv/bin/python" -m pip install -q "${pip_args[@]}" </dev/null
        "$venv/bin/python" -m pip check >/dev/null || {
            echo "setup.sh: 'pip check' found broken requirements in $venv:" >&2
            "$venv/bin/python" -m pip check >&2 || true
            exit 1
        }
        echo "$wanted" >"$stamp"
    fi
fi

say "ok"
