# Shared set-up for scripts/test and scripts/demo: venvs, a collection copy, ansible-test work-arounds.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The Pythons each venv may be made from: ansible-core 2.19 runs its controller
# on 3.11 to 3.13, the newest ansible-core on 3.12 to 3.14.
VENV_PYTHONS="3.11 3.13"
LATEST_PYTHONS="3.12 3.14"
# ansible-core 2.17, the lowest meta/runtime.yml declares, runs on Python 3.10 to 3.12.
LOWEST_PYTHONS="3.10 3.12"

# python_candidates: "VERSION PATH venv|no-venv" for each Python 3 that really
# runs, oldest first, found as python3 or python3.N on PATH and, where pyenv is
# installed, among its versions. PATH is the real file of the interpreter's own
# sys.executable: no shim, no link, each interpreter once. "no-venv": it cannot
# make a venv (Debian's python3.X needs its python3.X-venv package for that).
python_candidates() {
    if [ -n "${PYTHON_CANDIDATES+set}" ]; then
        printf '%s' "$PYTHON_CANDIDATES"
        return 0
    fi
    local dir file root seen=" " pyenv_versions=""
    local -a dirs files=()
    IFS=: read -ra dirs <<< "$PATH"
    for dir in "${dirs[@]}"; do
        files+=("$dir"/python3 "$dir"/python3.[0-9]*)
    done
    if command -v pyenv >/dev/null 2>&1; then
        # pyenv's own answer follows $HOME when PYENV_ROOT is unset; its
        # install folder is where the pyenv on PATH lives.
        for root in "$(pyenv root 2>/dev/null)" "$(dirname "$(dirname "$(readlink -f "$(command -v pyenv)")")")"; do
            [ -d "$root/versions" ] && files+=("$root"/versions/*/bin/python3.[0-9]*) && pyenv_versions=yes
        done
    fi
    PYTHON_CANDIDATES=$(
        for file in "${files[@]}"; do
            [[ $(basename "$file") =~ ^python3(\.[0-9]+)?$ ]] && [ -x "$file" ] || continue
            # A pyenv shim stands for a version found above among pyenv's own; running
            # one costs a pyenv start (slow on a busy machine) and may only exit 127.
            [ -n "$pyenv_versions" ] && [ "$(head -c 2 "$file")" = "#!" ] && grep -q 'pyenv" exec' "$file" && continue
            case $seen in *" $(readlink -f "$file") "*) continue ;; esac
            seen="$seen$(readlink -f "$file") "
            timeout 20 "$file" -c 'import os, sys, importlib.util as u
print("%d.%d" % sys.version_info[:2], os.path.realpath(sys.executable),
      "venv" if u.find_spec("ensurepip") else "no-venv")' 2>/dev/null
        done | awk '!seen[$2]++' | sort -s -t. -k1,1n -k2,2n
    )
    printf '%s' "$PYTHON_CANDIDATES"
}

version_key() { local major=${1%%.*} minor=${1#*.}; echo $(( major * 1000 + minor )); }

# find_python LOWEST HIGHEST: the real path of the oldest Python in that range
# that can make a venv (the versions the tests are pinned for come first), or
# what to install.
find_python() {
    local lowest=$1 highest=$2 version path venv choice="" choice_key=99999 key
    while read -r version path venv; do
        [ -n "$version" ] || continue
        key=$(version_key "$version")
        if [ "$key" -ge "$(version_key "$lowest")" ] && [ "$key" -le "$(version_key "$highest")" ] \
                && [ "$venv" = venv ] && [ "$key" -lt "$choice_key" ]; then
            choice=$path choice_key=$key
        fi
    done <<< "$(python_candidates)"
    if [ -n "$choice" ]; then
        echo "$choice"
        return 0
    fi
    no_python_message "$lowest" "$highest" >&2
    return 1
}

# Debian's and Ubuntu's own python3, for the advice below.
DISTRO_PYTHONS="Debian_12:3.11 Ubuntu_24.04:3.12 Debian_13:3.13"

no_python_message() {
    local lowest=$1 highest=$2 version path venv entry fits=()
    echo "No Python $lowest to $highest that can make a venv was found (looked for python3 and python3.N on PATH, and in pyenv)."
    if [ -n "$(python_candidates)" ]; then
        echo "Found:"
        while read -r version path venv; do
            if [ "$venv" = venv ]; then
                echo "  Python $version  $path"
            else
                echo "  Python $version  $path  (cannot make a venv: install python$version-venv)"
            fi
        done <<< "$(python_candidates)"
    fi
    for entry in $DISTRO_PYTHONS; do
        version=${entry#*:}
        [ "$(version_key "$version")" -ge "$(version_key "$lowest")" ] \
            && [ "$(version_key "$version")" -le "$(version_key "$highest")" ] && fits+=("${entry%:*}")
    done
    echo "Install one of Python $lowest to $highest with its venv module, then run this again. For example:"
    if [ ${#fits[@]} -gt 0 ]; then
        entry=$(IFS=,; echo "${fits[*]}")
        entry=${entry//,/, }
        echo "  on ${entry//_/ }:  sudo apt-get install python3 python3-venv"
    fi
    echo "  with pyenv, anywhere:  pyenv install $lowest"
}

log() { printf '\n==> %s\n' "$*"; }

# make_venv DIR "LOWEST HIGHEST" REQUIREMENTS: (re)build DIR from a Python in that
# range when the requirements file changed, saying what pip does meanwhile
# (scripts/install_venv.py).
make_venv() {
    local dir=$1 pythons=$2 requirements=$3 stamp log python
    stamp=$(sha256sum "$requirements" | cut -c1-16)
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c pass 2>/dev/null \
            && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    python_candidates >/dev/null
    # shellcheck disable=SC2086 # two words: the range
    python=$(find_python $pythons) || return 1
    log "Installing $(basename "$dir") from $(basename "$requirements") (first run only)"
    echo "    On a quiet machine with a fast network this takes about $(venv_estimate "$dir");"
    echo "    a busy machine or a slow network can take several times as long."
    rm -rf "$dir"
    mkdir -p "$ROOT/tests/output"
    log=$ROOT/tests/output/pip-$(basename "$dir").log
    if ! "$python" "$ROOT/scripts/install_venv.py" "$dir" "$requirements" "$log"; then
        echo "    pip failed; the end of $log:"
        grep -v "is ignored" "$log" | tail -n 20
        return 1
    fi
    echo "$stamp" > "$dir/.stamp"
}

# What a first install took on a quiet 2-core machine with a fast network (see CONTRIBUTING.md).
venv_estimate() {
    case $(basename "$1") in
        .venv) echo "1 minute" ;;
        *) echo "30 seconds" ;;
    esac
}

ensure_venv() { make_venv "$ROOT/.venv" "$VENV_PYTHONS" "$ROOT/requirements-test.txt"; }
ensure_latest_venv() { make_venv "$ROOT/.venv-latest" "$LATEST_PYTHONS" "$ROOT/requirements-test-latest.txt"; }
ensure_lowest_venv() { make_venv "$ROOT/.venv-2.17" "$LOWEST_PYTHONS" "$ROOT/requirements-test-2.17.txt"; }

# venv_python_version DIR: "3.11" for a venv made from Python 3.11.
venv_python_version() { "$1/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# The e2e tests start one sshd per simulated host on loopback ports; they need the server binary only.
ensure_sshd() {
    [ -x /usr/sbin/sshd ] && return 0
    log "Installing openssh-server (first run only)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssh-server; } \
        > "$ROOT/tests/output/apt-openssh-server.log" 2>&1 || tail -n 20 "$ROOT/tests/output/apt-openssh-server.log"
}

# The HTML report's test renders the page in a real browser: Debian's chromium, headless.
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 && return 0
    log "Installing chromium (first run only; about 100 MB to download)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    mkdir -p "$ROOT/tests/output"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium; } \
        > "$ROOT/tests/output/apt-chromium.log" 2>&1 || tail -n 20 "$ROOT/tests/output/apt-chromium.log"
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
    for version in 23_1_2 24_2 25_2 25_3; do
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

# ansible-test finds python3.X by name on PATH, where pyenv's shims for versions
# not selected exit 127: a folder of links, named python3.X, to the real
# interpreter of each version found, goes ahead of them.
python_path_dir() {
    local dir=$WORK/bin version path venv
    mkdir -p "$dir"
    python_candidates >/dev/null
    # Those that can make a venv first: ansible-test --venv needs that.
    while read -r version path venv; do
        [ -n "$version" ] && [ ! -e "$dir/python$version" ] && ln -s "$path" "$dir/python$version"
    done <<< "$(python_candidates | sort -s -r -k3,3)"
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
