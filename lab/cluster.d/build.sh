# shellcheck shell=bash
# Builds the control-plane binaries from Go modules, once per version of each component.
# Sourced by lab/cluster; expects scripts/lib.sh and versions.sh to be sourced already.

GPUFLEET_GO="${GPUFLEET_GO:-$(command -v go || echo /usr/local/go/bin/go)}"

# The module and build caches live in the project cache, not in $HOME/go, so a fresh clone
# (or a wiped checkout) reuses the downloads and the compiled packages.
cluster_go_env() {
  export GOMODCACHE="$GPUFLEET_CACHE/go/mod"
  export GOCACHE="$GPUFLEET_CACHE/go/build"
  export GOFLAGS="-buildvcs=false"
  export CGO_ENABLED=0
  export GOTOOLCHAIN=local
}

# Each component is cached on its own, keyed by its version and Go's, so bumping one version
# rebuilds one component. The set in use is a directory of links named by all versions.
_cluster_gov() { "$GPUFLEET_GO" env GOVERSION; }

cluster_component_dir() {
  local v
  case "$1" in
    # "+kubelet": the set gained the kubelet (the lab's real node); an older cache entry
    # without it is rebuilt once.
    kubernetes) v="$GPUFLEET_K8S_VERSION+kubelet" ;;
    etcd) v="$GPUFLEET_ETCD_VERSION" ;;
    kwok) v="$GPUFLEET_KWOK_VERSION" ;;
    helm) v="$GPUFLEET_HELM_VERSION" ;;
  esac
  printf '%s/cluster-bin/%s-%s-%s' "$GPUFLEET_CACHE" "$1" "$v" "$(_cluster_gov)"
}

cluster_bin_dir() {
  printf '%s/cluster-bin/set-k8s-%s_etcd-%s_kwok-%s_helm-%s_%s' "$GPUFLEET_CACHE" \
    "$GPUFLEET_K8S_VERSION" "$GPUFLEET_ETCD_VERSION" "$GPUFLEET_KWOK_VERSION" \
    "$GPUFLEET_HELM_VERSION" "$(_cluster_gov)"
}

# component:file pairs of the set directory.
CLUSTER_FILES=(etcd:etcd kubernetes:kube-apiserver kubernetes:kube-controller-manager
  kubernetes:kube-scheduler kubernetes:kubelet kwok:kwok kwok:kwok-stages helm:helm)

cluster_binaries_present() {
  local dir entry
  dir="$(cluster_bin_dir)"
  for entry in "${CLUSTER_FILES[@]}"; do [ -e "$dir/${entry#*:}" ] || return 1; done
}

# Go's default parallelism is the core count; one compile per core is the fastest here
# (measured in docs/cluster.md), `nice` keeps a parallel molecule run responsive.
_cluster_go() { nice -n "${GPUFLEET_BUILD_NICE:-10}" "$GPUFLEET_GO" "$@"; }

# k8s.io/kubernetes replaces every k8s.io/* staging module with ./staging/..., which only works
# inside its own git tree. A throw-away wrapper module re-points each of them at the published
# k8s.io/<m> v0.<minor>.<patch> module instead.
_build_kubernetes() {
  local out="$1" work="$2" v="$GPUFLEET_K8S_VERSION"
  local staging_v="v0.${v#v1.}" gomod major minor
  major="$(printf '%s' "${v#v}" | cut -d. -f1)"
  minor="$(printf '%s' "${v#v}" | cut -d. -f2)"
  mkdir -p "$work/k8s"
  (
    cd "$work/k8s" || exit 1
    # The go.mod that lists the staging modules; an unverifiable or unknown version stops
    # here with go's own reason (e.g. no checksum database entry).
    gomod="$(_cluster_go mod download -json "k8s.io/kubernetes@$v" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if "Error" in d:
    sys.exit("go mod download: " + d["Error"])
print(d["GoMod"])
')"
    {
      printf 'module gpufleet.local/k8s-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\n' "$v"
      # Replace only the staging modules k8s.io/kubernetes requires: the proxy does not
      # serve every sample-* module at every patch release.
      awk -v sv="$staging_v" '
        /^require \(/ { inreq = 1; next }
        inreq && /^\)/ { inreq = 0; next }
        inreq && $2 == "v0.0.0" { req[$1] = 1 }
        $2 == "=>" && $3 ~ /^\.\/staging\// && ($1 in req) { printf "replace %s => %s %s\n", $1, $1, sv }
      ' "$gomod"
    } > go.mod
    log "kubernetes $v: resolving modules (staging modules at $staging_v)"
    _cluster_go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$v" "k8s.io/kubernetes/cmd/kube-scheduler@$v" \
      "k8s.io/kubernetes/cmd/kubelet@$v"
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    # One `go build` for the four: the kubelet (the lab's real node) shares most of its
    # packages with the other three, so it costs far less here than built on its own.
    log "kubernetes $v: building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet"
    _cluster_go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet
  )
}

# etcd's server module also points its siblings at ../, so it gets a wrapper module too;
# `go get` then takes the siblings' published versions.
_build_etcd() {
  local out="$1" work="$2" v="$GPUFLEET_ETCD_VERSION"
  mkdir -p "$work/etcd"
  (
    cd "$work/etcd" || exit 1
    printf 'module gpufleet.local/etcd-build\n\ngo 1.26.0\n' > go.mod
    log "etcd $v: resolving modules"
    _cluster_go get "go.etcd.io/etcd/server/v3@$v"
    log "etcd $v: building"
    _cluster_go build -mod=mod -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=gpufleet" \
      -o "$out/etcd" go.etcd.io/etcd/server/v3
  )
}

_build_kwok() {
  local out="$1" v="$GPUFLEET_KWOK_VERSION"
  log "kwok $v: building"
  GOBIN="$out" _cluster_go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v" "sigs.k8s.io/kwok/cmd/kwok@$v"
  # kwok refuses to start without stages; the stock ones ship inside its module.
  rm -rf "$out/kwok-stages"
  mkdir -p "$out/kwok-stages"
  cp -r "$GOMODCACHE/sigs.k8s.io/kwok@$v/kustomize/stage/." "$out/kwok-stages/"
  chmod -R u+w "$out/kwok-stages"
}

_build_helm() {
  local out="$1" v="$GPUFLEET_HELM_VERSION"
  log "helm $v: building"
  GOBIN="$out" _cluster_go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$v" "helm.sh/helm/v3/cmd/helm@$v"
}

# Builds each missing component into a staging dir and moves it into place when complete, so
# an interrupted build never leaves a cache entry that looks finished.
_cluster_build_component() {
  local name="$1" dir stage t=$SECONDS
  dir="$(cluster_component_dir "$name")"
  [ -f "$dir/.complete" ] && return 0
  stage="$dir.partial"
  rm -rf "$stage"
  mkdir -p "$stage"
  case "$name" in
    kubernetes) _build_kubernetes "$stage" "$GPUFLEET_CACHE/cluster-build" ;;
    etcd) _build_etcd "$stage" "$GPUFLEET_CACHE/cluster-build" ;;
    kwok) _build_kwok "$stage" ;;
    helm) _build_helm "$stage" ;;
  esac
  printf 'built %s in %s s with %s\n' "$(date -u +%FT%TZ)" "$((SECONDS - t))" "$(_cluster_gov)" \
    > "$stage/.complete"
  rm -rf "$dir"
  mv "$stage" "$dir"
  log "$name built in $((SECONDS - t)) s"
}

cluster_build() {
  [ -x "$GPUFLEET_GO" ] || die "Go not found (looked for 'go' on PATH and /usr/local/go/bin/go)"
  cluster_go_env
  cluster_binaries_present && return 0
  local set t0=$SECONDS name entry
  set="$(cluster_bin_dir)"
  log "building the control plane from Go modules (once per version; cold: about 10 min on 2 cores)"
  for name in helm kwok etcd kubernetes; do _cluster_build_component "$name"; done
  mkdir -p "$set"
  for entry in "${CLUSTER_FILES[@]}"; do
    ln -sfn "$(cluster_component_dir "${entry%%:*}")/${entry#*:}" "$set/${entry#*:}"
  done
  # The compiled-package cache (about 4 GB) only pays off when a version changes; drop it
  # unless asked to keep it. The module downloads (1.4 GB) stay.
  if [ "${GPUFLEET_KEEP_GOCACHE:-0}" != 1 ]; then
    "$GPUFLEET_GO" clean -cache
  fi
  log "control plane built in $((SECONDS - t0)) s"
}
