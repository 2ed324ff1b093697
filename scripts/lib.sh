# Shared set-up for scripts/test and scripts/demo: venvs, a collection copy, ansible-test work-arounds.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# find_python 3.12: the first python3.12 that really runs (pyenv shims on PATH may not).
find_python() {
    local candidate
    for candidate in "$(command -v "python$1")" /root/.pyenv/versions/"$1".*/bin/"python$1" /usr/bin/"python$1"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c pass >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    echo "no working python$1 found" >&2
    return 1
}

log() { printf '\n==> %s\n' "$*"; }

# make_venv DIR PYTHON REQUIREMENTS: (re)build DIR when the requirements file changed.
make_venv() {
    local dir=$1 python=$2 requirements=$3 stamp
    stamp=$(sha256sum "$requirements" | cut -c1-16)
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    log "Installing $(basename "$dir") from $(basename "$requirements") (first run only)"
    rm -rf "$dir"
    [ -n "$python" ] || return 1
    mkdir -p "$ROOT/tests/output"
    "$python" -m venv "$dir" || return 1
    if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
            > "$ROOT/tests/output/pip-$(basename "$dir").log" 2>&1; then
        grep -v "is ignored" "$ROOT/tests/output/pip-$(basename "$dir").log" | tail -n 20
        return 1
    fi
    echo "$stamp" > "$dir/.stamp"
}

ensure_venv() { make_venv "$ROOT/.venv" "$(find_python 3.11)" "$ROOT/requirements-test.txt"; }
ensure_latest_venv() { make_venv "$ROOT/.venv-latest" "$(find_python 3.12)" "$ROOT/requirements-test-latest.txt"; }

# The e2e tests start one sshd per simulated host on loopback ports; they need the server binary only.
ensure_sshd() {
    [ -x /usr/sbin/sshd ] && return 0
    log "Installing openssh-server (first run only)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssh-server; } \
        > "$ROOT/tests/output/apt-openssh-server.log" 2>&1 || tail -n 20 "$ROOT/tests/output/apt-openssh-server.log"
}

# The Debian end-to-end tests build a Debian root with debootstrap (once per machine, then
# cached; see tests/e2e/debian_root.py) and index their apt repository with dpkg-scanpackages.
ensure_debian_tools() {
    command -v debootstrap >/dev/null && command -v dpkg-scanpackages >/dev/null && return 0
    log "Installing debootstrap and dpkg-dev (first run only)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        debootstrap dpkg-dev; } > "$ROOT/tests/output/apt-debootstrap.log" 2>&1 || tail -n 20 "$ROOT/tests/output/apt-debootstrap.log"
}

# ansible-test makes venvs without pip and downloads get-pip from a CDN this network
# cannot reach; it first looks in its cache, so a stand-in there uses ensurepip instead.
install_get_pip_standin() {
    local cache=$HOME/.ansible/test/cache version
    mkdir -p "$cache"
    for version in 24_2 25_2 25_3; do
        cat > "$cache/get_pip_$version.py" <<'PY'
"""Stand-in for get-pip: bootstrap pip with ensurepip, then install what was asked."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args))
PY
    done
}

# ansible-test probes python3.X on PATH; pyenv's shims for versions not selected exit 127.
python_path_dir() {
    local dir=$WORK/bin version
    mkdir -p "$dir"
    for version in /root/.pyenv/versions/3.*/bin/python3.*; do
        case $version in *-config|*m) continue ;; esac
        [ -x "$version" ] && ln -sf "$version" "$dir/$(basename "$version")"
    done
    echo "$dir"
}

# make_collection_copy DIR: the tracked (and new, unignored) files in
# DIR/ansible_collections/vpsorg/cloud, which is where ansible-test needs them.
make_collection_copy() {
    COPY=$1/ansible_collections/vpsorg/cloud
    rm -rf "$1/ansible_collections"
    mkdir -p "$COPY"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
        [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$COPY")
    cp -a "$ROOT/.git" "$COPY/.git"
    # Files added but not committed must be visible to ansible-test's git listing too.
    (cd "$COPY" && git add -A >/dev/null 2>&1)
}
