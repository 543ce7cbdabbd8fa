#!/usr/bin/env bash
# Terrinum set-up: the only script to run.
#
#   bash setup.sh demo      install what running needs, then run the demo (results in out/demo/)
#   bash setup.sh test      install what the tests need, then run `ruff check .` and pytest
#   bash setup.sh install   install only (Python venv in .venv, package, dashboard assets)
#   bash setup.sh --help
#
# Safe to run again: steps that are already done are skipped in about two seconds.
# Never prompts; fails with a message that says how to fix the problem.
set -euo pipefail

# ----------------------------------------------------------------------------- helpers
# (only shell builtins up to the Python finder, so `find-python` works with any PATH)

step_started=$SECONDS
step() {
    printf '\n==> %s\n' "$*"
    step_started=$SECONDS
}
done_step() { printf '    done (%ss)\n' "$((SECONDS - step_started))"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf '\nERROR: %s\n' "$1" >&2
    shift
    local line
    for line in "$@"; do printf '  %s\n' "$line" >&2; done
    exit 1
}

usage() {
    cat <<'EOF'
Usage: bash setup.sh [-v] COMMAND [ARGS...]

Commands:
  demo [ARGS]    Install what running needs (Python venv in .venv with the package and its
                 dashboard extra, offline dashboard assets), then run the demo: scenarios
                 compared on the built-in map of France, tables and plots in out/demo/.
                 ARGS are passed to `terrinum demo`.
  test [ARGS]    Install what the tests need (package with extras [dashboard,test], Debian's
                 chromium for browser tests, offline dashboard assets), then run `ruff check .`
                 and the whole pytest suite. ARGS are passed to pytest (e.g. -k gini -x).
                 Exit status: pytest's, or ruff's when pytest passed.
  install        Install only: venv, package with extras [dashboard,test], dashboard assets.
  find-python    Print the Python >= 3.12 that set-up would use, then exit.
  -h, --help     Show this help.

Options:
  -v, --verbose  Show pip's output as it runs (it always goes to .venv/pip-install.log).

Environment:
  TERRINUM_PYTHON=/path/to/python3.12   interpreter to use (else one is searched for)
  TERRINUM_CHROMIUM=/path/to/chromium   browser for the browser tests (else /usr/bin/chromium,
                                        chromium or chromium-browser; installed with apt-get)
  TERRINUM_SKIP_BROWSER=1               do not install Chromium; browser tests are skipped
  TERRINUM_NPM_REGISTRY=URL             npm registry mirror for the dashboard assets

Everything is installed inside this folder (.venv/) except Chromium (apt-get, as root or
with sudo). Delete .venv/ to start again from scratch.
EOF
}

# ----------------------------------------------------------------------------- arguments

VERBOSE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help | help) usage; exit 0 ;;
        -v | --verbose) VERBOSE=1; shift ;;
        -*) usage >&2; printf '\nERROR: unknown option %s\n' "$1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [[ $# -eq 0 ]]; then
    usage >&2
    printf '\nERROR: no command given (use demo, test or install)\n' >&2
    exit 2
fi
COMMAND=$1
shift
case "$COMMAND" in
    demo | test | install | find-python) ;;
    *) usage >&2; printf '\nERROR: unknown command %s\n' "$COMMAND" >&2; exit 2 ;;
esac

# Work from the repository root, wherever the script is called from.
script_path=${BASH_SOURCE[0]}
if [[ $script_path == */* ]]; then cd "${script_path%/*}"; fi
ROOT=$PWD
VENV=${TERRINUM_VENV:-$ROOT/.venv}
STAMP=$VENV/.terrinum-setup-stamp

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1        # never let Playwright download a browser
export SOLARA_TELEMETRY_MIXPANEL_ENABLE=False     # no telemetry from the dashboard server
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ ${CI:-} == true || ! -t 1 ]]; then export PIP_PROGRESS_BAR=off; fi

# ----------------------------------------------------------------------------- Python >= 3.12

PY=""
PY_VERSION=""
PY_NOTES=()

# Print the version and succeed when $1 is a Python >= 3.12 that can create a venv.
check_python() {
    local out rc=0
    out=$("$1" -c '
import sys
v = ".".join(map(str, sys.version_info[:3]))
if sys.version_info < (3, 12):
    print(v); sys.exit(2)
try:
    import ensurepip, venv  # noqa: F401  (Debian splits these into python3.X-venv)
except ImportError:
    print(v); sys.exit(3)
print(v, sys.executable)
' 2>/dev/null) || rc=$?
    case $rc in
        0) PY_VERSION=${out%% *}; PY=${out#* }; return 0 ;;
        3) PY_NOTES+=("$1 is Python $out but lacks the venv module (Debian/Ubuntu: apt-get install python${out%.*}-venv)") ;;
        2) PY_NOTES+=("$1 is Python $out (too old)") ;;
    esac
    return 1
}

python_advice() {
    die "No Python 3.12 or newer found (Terrinum needs Mesa 3.5, which requires Python >= 3.12)." \
        ${PY_NOTES[@]+"${PY_NOTES[@]/#/seen: }"} \
        "" \
        "Install one, then run this command again:" \
        "  Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv" \
        "                 (older Ubuntu: sudo add-apt-repository ppa:deadsnakes/ppa first)" \
        "  macOS:         brew install python@3.12" \
        "  pyenv:         pyenv install 3.12" \
        "  uv:            uv python install 3.12" \
        "  Windows:       install Python 3.12 from https://www.python.org/downloads/ (use WSL or Git Bash)" \
        "Or point to one: TERRINUM_PYTHON=/path/to/python3.12 bash setup.sh $COMMAND"
}

find_python() {
    local cand root p
    if [[ -n ${TERRINUM_PYTHON:-} ]]; then
        check_python "$TERRINUM_PYTHON" && return 0
        die "TERRINUM_PYTHON=$TERRINUM_PYTHON is not a usable Python >= 3.12." ${PY_NOTES[@]+"${PY_NOTES[@]}"} \
            "Unset it to let set-up search, or point it to a Python 3.12+ interpreter."
    fi
    for cand in python3.13 python3.12 python3.14 python3 python; do
        p=$(command -v "$cand" 2>/dev/null) || continue
        check_python "$p" && return 0
    done
    # pyenv installs that are not the active version (their shims refuse to run)
    root=""
    if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root 2>/dev/null) || root=""; fi
    [[ -n $root ]] || root=${PYENV_ROOT:-${HOME:-/nonexistent}/.pyenv}
    for p in "$root"/versions/3.1[2-9]*/bin/python; do
        [[ -x $p ]] || continue
        check_python "$p" && return 0
    done
    if command -v uv >/dev/null 2>&1; then
        p=$(uv python find '>=3.12' 2>/dev/null) && check_python "$p" && return 0
    fi
    python_advice
}

if [[ $COMMAND == find-python ]]; then
    find_python
    printf '%s\n' "$PY"
    info "Python $PY_VERSION" >&2
    exit 0
fi

# ----------------------------------------------------------------------------- venv + package

venv_python_ok() {
    [[ -x $VENV/bin/python ]] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

stamp_value() {  # stamp_value KEY -> value recorded by the last successful install
    local key val
    [[ -f $STAMP ]] || return 0
    while IFS='=' read -r key val; do
        if [[ $key == "$1" ]]; then printf '%s' "$val"; return 0; fi
    done <"$STAMP"
}

ensure_venv() {
    step "Python environment ($VENV)"
    local reason=""
    if [[ -e $VENV ]]; then
        if ! venv_python_ok; then
            reason="its Python is missing, broken or older than 3.12"
        elif [[ -f $STAMP && $(stamp_value venv) != "$VENV" ]]; then
            reason="it was made for $(stamp_value venv) (folder moved or copied)"
        fi
    fi
    if [[ -n $reason ]]; then
        if [[ ! -f $VENV/pyvenv.cfg ]]; then
            die "$VENV exists but is not a virtual environment." "Move or delete it, then run again."
        fi
        info "Recreating it: $reason."
        rm -rf "$VENV"
    fi
    if [[ ! -e $VENV ]]; then
        find_python
        info "Creating it with Python $PY_VERSION ($PY)"
        "$PY" -m venv "$VENV" || die "Could not create the venv with $PY." \
            "On Debian/Ubuntu install the venv module: sudo apt-get install python${PY_VERSION%.*}-venv"
    fi
    info "Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
    done_step
}

pyproject_hash() {
    "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
        "$ROOT/pyproject.toml"
}

# run_logged LOG CMD...: run CMD, output to LOG (live with -v); on failure show its end.
run_logged() {
    local log=$1 rc=0
    shift
    if [[ $VERBOSE == 1 ]]; then
        "$@" 2>&1 | tee -a "$log" || rc=$?
    else
        "$@" >>"$log" 2>&1 || rc=$?
        if [[ $rc != 0 ]]; then tail -n 40 "$log" >&2; fi
    fi
    return "$rc"
}

# install_package EXTRAS (comma-separated)
install_package() {
    local want=$1 have extras e hash
    step "Package terrinum with extras [$want]"
    [[ -f $ROOT/pyproject.toml ]] || die "pyproject.toml not found in $ROOT." "Run setup.sh from a Terrinum checkout."
    hash=$(pyproject_hash)
    have=$(stamp_value extras)
    # Keep extras installed earlier (e.g. test after demo) so installs never shrink.
    extras=$want
    for e in ${have//,/ }; do
        [[ ,$extras, == *,"$e",* ]] || extras="$extras,$e"
    done
    local missing=0
    for e in ${want//,/ }; do [[ ,$have, == *,"$e",* ]] || missing=1; done
    if [[ $missing == 0 && $(stamp_value pyproject) == "$hash" && -x $VENV/bin/terrinum ]] &&
        "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("terrinum")' 2>/dev/null; then
        info "Already installed (pyproject.toml unchanged); skipping pip."
        done_step
        return 0
    fi
    local log=$VENV/pip-install.log
    info "Upgrading pip"
    run_logged "$log" "$VENV/bin/python" -m pip install --upgrade pip ||
        die "pip could not upgrade itself (see above; full log: $log)." \
            "Check that PyPI is reachable (proxy: HTTPS_PROXY; mirror: PIP_INDEX_URL)."
    info "Installing -e .[$extras] (first time: about 2 minutes; log: $log)"
    run_logged "$log" "$VENV/bin/python" -m pip install -e "${ROOT}[${extras}]" ||
        die "pip install -e .[$extras] failed (see above; full log: $log)." \
            "If PyPI is unreachable: set HTTPS_PROXY or PIP_INDEX_URL, then run again." \
            "If the error is about building terrinum itself, check pyproject.toml and simulation/." \
            "Run with -v for pip's full output; delete .venv/ to start from scratch."
    {
        printf 'root=%s\n' "$ROOT"
        printf 'venv=%s\n' "$VENV"
        printf 'python=%s\n' "$("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
        printf 'pyproject=%s\n' "$hash"
        printf 'extras=%s\n' "$extras"
    } >"$STAMP"
    done_step
}

# compile_kernels: compile the numba kernels once (cached on disk next to the sources), so
# that the first run, a benchmark or each sweep worker does not pay for it
compile_kernels() {
    step "Compiling the simulation kernels (numba; once, cached)"
    "$VENV/bin/python" -m simulation.engine._warmup ||
        die "The simulation kernels did not compile (message above)." \
            "Check that numba installed (pip show numba); delete .venv/ and run again."
    done_step
}

# fetch_assets strict|lenient
fetch_assets() {
    step "Dashboard front-end assets (Solara, from the npm registry)"
    if "$VENV/bin/python" "$ROOT/scripts/fetch_solara_assets.py"; then
        done_step
        return 0
    fi
    if [[ $1 == strict ]]; then
        die "The dashboard assets could not be fetched (message above); the dashboard tests need them." \
            "Fix the network access to https://registry.npmjs.org (or set TERRINUM_NPM_REGISTRY), then run again."
    fi
    warn "dashboard assets missing: the simulation works, but the dashboard page stays blank offline."
    warn "fix the access to https://registry.npmjs.org, then run: bash setup.sh install"
}

# ----------------------------------------------------------------------------- Chromium

find_chromium() {
    local c
    for c in "${TERRINUM_CHROMIUM:-}" /usr/bin/chromium; do
        if [[ -n $c && -x $c ]]; then printf '%s' "$c"; return 0; fi
    done
    for c in chromium chromium-browser; do
        if c=$(command -v "$c" 2>/dev/null); then printf '%s' "$c"; return 0; fi
    done
    return 1
}

apt_install_chromium() {
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q)
    if [[ $(id -u) != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            apt=(sudo -n "${apt[@]}")
        else
            return 2
        fi
    fi
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/terrinum-apt.XXXXXX")
    info "apt-get install chromium (about 40 s; log: $log)"
    if ! "${apt[@]}" install chromium </dev/null >"$log" 2>&1; then
        info "Retrying after apt-get update"
        if ! { "${apt[@]}" update && "${apt[@]}" install chromium; } </dev/null >>"$log" 2>&1; then
            tail -n 25 "$log" >&2
            return 1
        fi
    fi
    rm -f "$log"
}

ensure_chromium() {
    step "Chromium for the browser tests"
    local found
    if [[ ${TERRINUM_SKIP_BROWSER:-} == 1 ]]; then
        warn "TERRINUM_SKIP_BROWSER=1: browser tests will be skipped."
        export TERRINUM_CHROMIUM=""
        return 0
    fi
    if ! found=$(find_chromium); then
        local how="Debian/Ubuntu: sudo apt-get install chromium (Ubuntu: chromium-browser); macOS: brew install --cask chromium; then run again, or set TERRINUM_CHROMIUM=/path/to/chromium"
        if command -v apt-get >/dev/null 2>&1; then
            local rc=0
            apt_install_chromium || rc=$?
            if [[ $rc == 2 ]]; then
                how="not root and no password-less sudo: run 'sudo apt-get install -y chromium' yourself, then run again"
            elif [[ $rc != 0 ]]; then
                how="apt-get install chromium failed (see above); fix apt, or set TERRINUM_CHROMIUM=/path/to/chromium"
            fi
        fi
        if ! found=$(find_chromium); then
            if [[ ${CI:-} == true ]]; then
                die "Chromium is needed for the browser tests and could not be installed." "$how" \
                    "To run the tests without the browser tests: TERRINUM_SKIP_BROWSER=1 bash setup.sh test"
            fi
            warn "Chromium not found; browser tests will be skipped. $how"
            export TERRINUM_CHROMIUM=""
            return 0
        fi
    fi
    export TERRINUM_CHROMIUM=$found
    info "$("$found" --version 2>/dev/null || echo chromium) at $found"
    done_step
}

# ----------------------------------------------------------------------------- commands

started=$SECONDS
case "$COMMAND" in
    install)
        ensure_venv
        install_package dashboard,test
        compile_kernels
        fetch_assets lenient
        printf '\nInstalled in %ss. Next: bash setup.sh demo   (or: bash setup.sh test)\n' "$((SECONDS - started))"
        ;;
    demo)
        ensure_venv
        install_package dashboard
        compile_kernels
        fetch_assets lenient
        step "Demo: terrinum demo --out out/demo"
        mkdir -p "$ROOT/out/demo"
        rc=0
        "$VENV/bin/terrinum" demo --out "$ROOT/out/demo" "$@" || rc=$?
        if [[ $rc != 0 ]]; then
            die "The demo failed (exit status $rc; message above)." \
                "Run it again on its own: .venv/bin/terrinum demo --out out/demo"
        fi
        done_step
        printf '\nDemo finished in %ss. Results: %s/out/demo/\n' "$((SECONDS - started))" "$ROOT"
        ;;
    test)
        ensure_venv
        install_package dashboard,test
        compile_kernels
        fetch_assets strict
        ensure_chromium
        step "Lint: ruff check ."
        ruff_rc=0
        "$VENV/bin/ruff" check . || ruff_rc=$?
        step "Tests: python -m pytest $*"
        pytest_rc=0
        "$VENV/bin/python" -m pytest "$@" || pytest_rc=$?
        printf '\nruff: %s, pytest: %s (exit status %s) in %ss\n' \
            "$([[ $ruff_rc == 0 ]] && echo ok || echo "FAILED ($ruff_rc)")" \
            "$([[ $pytest_rc == 0 ]] && echo ok || echo FAILED)" "$pytest_rc" "$((SECONDS - started))"
        if [[ $pytest_rc != 0 ]]; then exit "$pytest_rc"; fi
        exit "$ruff_rc"
        ;;
esac
