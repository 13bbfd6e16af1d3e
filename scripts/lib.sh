# shellcheck shell=bash
# Shared settings for the project's scripts. Source it; it changes nothing by itself.
set -euo pipefail

GPUFLEET_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPUFLEET_CACHE="${GPUFLEET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpufleet}"
export GPUFLEET_REPO GPUFLEET_CACHE

# The controller's Python, chosen here and not by hand: the newest CPython that the pinned
# ansible-core supports (ansible-core 2.20 and later need 3.12 at least; 2.21 runs up to 3.14),
# from what is on PATH and in pyenv's versions (which a machine may have without selecting).
GPUFLEET_PYTHON_MIN=312 GPUFLEET_PYTHON_MAX=314
gpufleet_find_python() {
  local c v best="" bestv=0
  for c in python3.14 python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 \
      /usr/local/bin/python3 /usr/bin/python3 python3; do
    v=$("$c" -c 'import sys; print("%d%02d %s" % (sys.version_info[0], sys.version_info[1], sys.executable))' \
      2>/dev/null) || continue
    [ -n "$v" ] || continue
    if [ "${v%% *}" -ge "$GPUFLEET_PYTHON_MIN" ] && [ "${v%% *}" -le "$GPUFLEET_PYTHON_MAX" ] \
        && [ "${v%% *}" -gt "$bestv" ]; then
      bestv=${v%% *}; best=${v#* }
    fi
  done
  [ -n "$best" ] || return 1
  printf '%s\n' "$best"
}
GPUFLEET_PYTHON="${GPUFLEET_PYTHON:-$(gpufleet_find_python || true)}"
[ -n "$GPUFLEET_PYTHON" ] || {
  printf 'ERROR: no Python 3.12 to 3.14 found (on PATH or under pyenv); ansible-core %s needs one\n' \
    "$(sed -n 's/^ansible-core==//p' "$GPUFLEET_REPO/requirements/constraints.txt")" >&2
  exit 1
}
export GPUFLEET_PYTHON
# Its full version, part of every venv's cache key (a rebuilt Python gets new venvs).
GPUFLEET_PYTHON_VERSION=$("$GPUFLEET_PYTHON" -c 'import sys; print(sys.version)')

# The virtualenv is keyed by the content of the pin files and the Python's version, so a changed
# pin or Python builds a new one and an unchanged one is reused by every clone on this machine.
_gpufleet_venv_key() {
  { cat "$GPUFLEET_REPO/requirements/dev.txt" "$GPUFLEET_REPO/requirements/constraints.txt"
    echo "$GPUFLEET_PYTHON_VERSION"; } | sha256sum | cut -c1-12
}
GPUFLEET_VENV="$GPUFLEET_CACHE/venv-$(_gpufleet_venv_key)"
export GPUFLEET_VENV

# awx.awx (the modules of playbooks/awx_configure.yml) is no longer in the `ansible` package
# (14.5.0 has none); users install it from Galaxy, which is not reachable here. scripts/bootstrap
# takes it from the `ansible` release on PyPI this collection was tested with before the move
# (12.3.0, which carries awx.awx 24.6.1) into this collections root, linked into every clone's.
GPUFLEET_AWX_FROM="ansible==12.3.0"
GPUFLEET_AWX_COLLECTIONS="$GPUFLEET_CACHE/awx-collection/${GPUFLEET_AWX_FROM#*==}"
export GPUFLEET_AWX_COLLECTIONS

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Put the toolchain and the collection on the path of everything run after this.
gpufleet_activate() {
  export PATH="$GPUFLEET_VENV/bin:$PATH"
  export VIRTUAL_ENV="$GPUFLEET_VENV"
  # ansible finds gpufleet.cluster through a link to this checkout; kubernetes.core & co.
  # come from the pinned `ansible` package inside the venv.
  local repo_key
  repo_key=$(printf '%s' "$GPUFLEET_REPO" | sha256sum | cut -c1-12)
  export ANSIBLE_COLLECTIONS_PATH="$GPUFLEET_CACHE/collections/$repo_key"
  export ANSIBLE_CONFIG="$GPUFLEET_REPO/ansible.cfg"
  export ANSIBLE_PYTHON_INTERPRETER="$GPUFLEET_VENV/bin/python"
  # The project's own runs (lab, tests) keep their fact cache out of the checkout's .cache/facts,
  # which is the cache of the user's real runs from this checkout.
  export ANSIBLE_CACHE_PLUGIN_CONNECTION="$GPUFLEET_CACHE/facts/$repo_key"
  # The control plane lab/cluster runs (GPUFLEET_CLUSTER_DIR, as lab/cluster reads it).
  local cluster_dir="${GPUFLEET_CLUSTER_DIR:-$GPUFLEET_CACHE/cluster}"
  if [ -f "$cluster_dir/kubeconfig" ]; then
    export K8S_AUTH_KUBECONFIG="$cluster_dir/kubeconfig"
  fi
}

# ansible-test bootstraps pip from a download host that is not reachable here; it accepts a
# pre-placed script of the expected name (which depends on the ansible-test version of the venv
# given), so place one that uses ensurepip + the index.
gpufleet_pip_shim() {
  local ver
  ver=$("$1/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.config import PythonConfig  # noqa: F401  (import order matters)
import sys
class _P:  # get_venv_packages only reads .version
    version = "%d.%d" % sys.version_info[:2]
print(get_venv_packages(_P())["pip"])
PY
)
  local dst="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
  mkdir -p "$(dirname "$dst")"
  cmp -s "$GPUFLEET_REPO/scripts/get_pip_offline.py" "$dst" 2>/dev/null \
    || cp "$GPUFLEET_REPO/scripts/get_pip_offline.py" "$dst"
}

# A venv of its own for a tool whose pins are in one file (every package pinned): built on first
# use with the controller's Python, cached by the pins and the Python's version as
# $GPUFLEET_CACHE/<name>-<key> (older ones of that name removed). Prints its path.
gpufleet_pinned_venv() {
  local name=$1 pins="$GPUFLEET_REPO/$2" key venv
  [ -f "$pins" ] || die "no pin file $pins"
  key=$({ cat "$pins"; echo "$GPUFLEET_PYTHON_VERSION"; } | sha256sum | cut -c1-12)
  venv="$GPUFLEET_CACHE/$name-$key"
  if [ ! -f "$venv/.complete" ]; then
    log "creating $venv from $2"
    rm -rf "$venv"
    "$GPUFLEET_PYTHON" -m venv "$venv" >&2
    "$venv/bin/pip" install -q --upgrade pip >&2
    "$venv/bin/pip" install -q -r "$pins" >&2
    touch "$venv/.complete"
    find "$GPUFLEET_CACHE" -maxdepth 1 -name "$name-*" ! -path "$venv" -exec rm -rf {} +
  fi
  printf '%s\n' "$venv"
}

# The venv of one cell of the test matrix (requirements/core-<version>.txt), with ansible-test's
# pip shim for it. Prints its path.
gpufleet_cell_venv() {
  local venv
  venv=$(gpufleet_pinned_venv "core$1" "requirements/core-$1.txt")
  gpufleet_pip_shim "$venv"
  printf '%s\n' "$venv"
}
