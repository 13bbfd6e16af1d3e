# shellcheck shell=bash
# Certificates, tokens and kubeconfigs of the local control plane, made once per state dir.
# Sourced by lab/cluster; expects CLUSTER_DIR and the port variables.

# Python's ssl (and Go's crypto/x509) reject a CA without CA:TRUE and certificates without
# key identifiers, so every extension is spelled out instead of left to openssl's defaults.
_pki_ca() {
  local pki="$1"
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=gpufleet-lab-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

_pki_serving_cert() {
  local pki="$1"
  local ext="$pki/apiserver.ext"
  cat > "$ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EXT
  openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout "$pki/apiserver.key" \
    -out "$pki/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "$pki/apiserver.crt" 2>/dev/null
  rm -f "$pki/apiserver.csr" "$pki/ca.srl"
}

# The aggregation layer's CA and the client cert the apiserver presents to extension API
# servers (metrics adapters and the like); without them every component logs a missing
# requestheader CA bundle.
_pki_front_proxy() {
  local pki="$1"
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$pki/front-proxy-ca.key" -out "$pki/front-proxy-ca.crt" -subj "/CN=gpufleet-lab-front-proxy-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
    > "$pki/front-proxy-client.ext"
  openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout "$pki/front-proxy-client.key" \
    -out "$pki/front-proxy-client.csr" -subj "/CN=front-proxy-client" 2>/dev/null
  openssl x509 -req -in "$pki/front-proxy-client.csr" -CA "$pki/front-proxy-ca.crt" \
    -CAkey "$pki/front-proxy-ca.key" -CAcreateserial -days 3650 -sha256 \
    -extfile "$pki/front-proxy-client.ext" -out "$pki/front-proxy-client.crt" 2>/dev/null
  rm -f "$pki/front-proxy-client.csr" "$pki/front-proxy-ca.srl"
}

# A client certificate signed by the lab CA (O=<group>, CN=<user>), for identities that
# authenticate with certificates rather than tokens: the apiserver towards the kubelets, and
# each real node's kubelet (Node authorizer + NodeRestriction need system:node:<name>).
_pki_client_cert() {
  local pki="$1" base="$2" cn="$3" org="$4"
  local subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
    > "$base.ext"
  ( umask 077; openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout "$base.key" \
    -out "$base.csr" -subj "$subj" 2>/dev/null )
  openssl x509 -req -in "$base.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$base.ext" -out "$base.crt" 2>/dev/null
  rm -f "$base.csr" "$base.ext" "$pki/ca.srl"
}

# A real node's kubeconfig: its own client certificate, the server as the node reaches it (the
# lab network's gateway), and the name the serving certificate carries (its SANs name
# 127.0.0.1 and kubernetes, not the gateway).
cluster_node_kubeconfig() {
  local node="$1" server="$2" pki="$CLUSTER_DIR/pki" dir
  dir="$pki/nodes"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ -s "$dir/$node.crt" ] || _pki_client_cert "$pki" "$dir/$node" "system:node:$node" system:nodes
  (
    umask 077
    cat > "$dir/$node.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: gpufleet-lab
    cluster:
      server: ${server}
      tls-server-name: kubernetes
      certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
  - name: system:node:${node}
    user:
      client-certificate-data: $(base64 -w0 < "$dir/$node.crt")
      client-key-data: $(base64 -w0 < "$dir/$node.key")
contexts:
  - name: gpufleet-lab
    context:
      cluster: gpufleet-lab
      user: system:node:${node}
current-context: gpufleet-lab
KC
  )
  printf '%s\n' "$dir/$node.kubeconfig"
}

_pki_sa_keys() {
  local pki="$1"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# One static token per identity. The controller-manager and scheduler get their own users so
# the bootstrap RBAC roles (system:kube-controller-manager, system:kube-scheduler) apply as on
# a real cluster; kwok plays every kubelet and needs to write any node or pod status.
_pki_tokens() {
  local pki="$1"
  local f="$pki/tokens.csv"
  {
    printf '%s,gpufleet-admin,gpufleet-admin,"system:masters"\n' "$(openssl rand -hex 24)"
    printf '%s,system:kube-controller-manager,system:kube-controller-manager\n' "$(openssl rand -hex 24)"
    printf '%s,system:kube-scheduler,system:kube-scheduler\n' "$(openssl rand -hex 24)"
    printf '%s,kwok,kwok,"system:masters"\n' "$(openssl rand -hex 24)"
  } > "$f"
  chmod 600 "$f"
}

_pki_token_of() { awk -F, -v u="$2" '$2 == u { print $1 }' "$1/tokens.csv"; }

_pki_kubeconfig() {
  local out="$1" user="$2" token="$3" ca_data
  ca_data="$(base64 -w0 < "$CLUSTER_DIR/pki/ca.crt")"
  (
    umask 077
    cat > "$out" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: gpufleet-lab
    cluster:
      server: https://127.0.0.1:${CLUSTER_APISERVER_PORT}
      certificate-authority-data: ${ca_data}
users:
  - name: ${user}
    user:
      token: ${token}
contexts:
  - name: gpufleet-lab
    context:
      cluster: gpufleet-lab
      user: ${user}
      namespace: default
current-context: gpufleet-lab
KC
  )
}

# Makes whatever is missing; never regenerates what exists, so etcd's service-account tokens
# and the kubeconfigs in users' hands stay valid across restarts.
cluster_pki() {
  local pki="$CLUSTER_DIR/pki"
  mkdir -p "$pki"
  chmod 700 "$pki"
  if [ ! -s "$pki/ca.crt" ] || [ ! -s "$pki/ca.key" ]; then _pki_ca "$pki"; fi
  [ -s "$pki/apiserver.crt" ] || _pki_serving_cert "$pki"
  [ -s "$pki/front-proxy-client.crt" ] || _pki_front_proxy "$pki"
  [ -s "$pki/sa.key" ] || _pki_sa_keys "$pki"
  [ -s "$pki/tokens.csv" ] || _pki_tokens "$pki"
  # kubeadm's name for it; lab/cluster-nodes.yml binds it to system:kubelet-api-admin, which a
  # real kubelet's webhook authorizer checks for logs, exec and port-forward.
  [ -s "$pki/apiserver-kubelet-client.crt" ] || _pki_client_cert "$pki" "$pki/apiserver-kubelet-client" \
    kube-apiserver-kubelet-client ""
  # Kubeconfigs carry the port, so they are rewritten on every start.
  _pki_kubeconfig "$CLUSTER_DIR/kubeconfig" gpufleet-admin "$(_pki_token_of "$pki" gpufleet-admin)"
  _pki_kubeconfig "$pki/controller-manager.kubeconfig" system:kube-controller-manager \
    "$(_pki_token_of "$pki" system:kube-controller-manager)"
  _pki_kubeconfig "$pki/scheduler.kubeconfig" system:kube-scheduler \
    "$(_pki_token_of "$pki" system:kube-scheduler)"
  _pki_kubeconfig "$pki/kwok.kubeconfig" kwok "$(_pki_token_of "$pki" kwok)"
}
