# shellcheck shell=bash
# Versions of the local control plane. Changing one changes the cache key, so the next
# `lab/cluster up` builds the new set once and every later run reuses it.
# Kubernetes: the Go module proxy refuses v1.36.6 (403) and the checksum database has no
# entry for v1.36.5 (404, so `go` will not verify it); v1.36.3 is the newest 1.36 patch with
# both. docs/cluster.md lists what was tried.
GPUFLEET_K8S_VERSION="${GPUFLEET_K8S_VERSION:-v1.36.3}"
GPUFLEET_ETCD_VERSION="${GPUFLEET_ETCD_VERSION:-v3.6.10}"
GPUFLEET_KWOK_VERSION="${GPUFLEET_KWOK_VERSION:-v0.8.0}"
# helm 3 only: kubernetes.core 6.2 refuses helm 4.
GPUFLEET_HELM_VERSION="${GPUFLEET_HELM_VERSION:-v3.21.4}"
