#!/usr/bin/env bash
# ferry's main job end to end on local registries: installs what is missing, builds ferry,
# starts a "connected" source registry and a "disconnected" target registry on loopback,
# seeds example images from fixtures/, exports them into one bundle, shows it, and (when the
# import command exists) imports it under a prefix with the one-to-one name mapping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
FERRY=${CARGO_TARGET_DIR:-$PWD/target}/release/ferry
WORK=$(mktemp -d /tmp/ferry-demo.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_registry() { # NAME VAR: starts a registry, sets VAR to its host:port
  local name=$1 port; port=$(free_port)
  mkdir -p "$WORK/$name"
  cat > "$WORK/$name/config.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $WORK/$name/data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$WORK/$name/config.yml" >"$WORK/$name/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  printf -v "$2" '%s' "127.0.0.1:$port"
}

# Not in $(...): the registries' PIDs must reach the cleanup trap of this shell.
start_registry source SRC
start_registry target DST
echo "== source registry $SRC, target registry $DST"
for f in multiarch single artifact; do
  skopeo copy -q --all --preserve-digests --dest-tls-verify=false "oci:fixtures/$f:v1" "docker://$SRC/demo/$f:v1"
done
echo "== seeded $SRC/demo/{multiarch,single,artifact}:v1"

echo "== ferry export (all platforms)"
"$FERRY" export "$SRC/demo/multiarch:v1" "$SRC/demo/single:v1" "$SRC/demo/artifact:v1" -o "$WORK/bundle.tar"
echo "== ferry export --platform linux/arm64 (sparse: the index bytes stay unchanged)"
"$FERRY" export "$SRC/demo/multiarch:v1" --platform linux/arm64 -o "$WORK/arm64.tar"

echo "== bundle members"
tar tvf "$WORK/bundle.tar"
echo "== index.json of the arm64 bundle"
tar xOf "$WORK/arm64.tar" index.json
echo "== skopeo reads the bundle"
skopeo inspect --raw "oci-archive:$WORK/bundle.tar:$SRC/demo/multiarch:v1" | sha256sum
echo "== ferry inspect"
"$FERRY" inspect "$WORK/bundle.tar"
echo "== ferry verify --deep (offline)"
"$FERRY" verify --deep "$WORK/arm64.tar"

if "$FERRY" import --help >/dev/null 2>&1; then
  echo "== ferry import into $DST/team"
  (cd "$WORK" && "$FERRY" import bundle.tar --to "$DST/team")
  cat "$WORK/relocation-mapping.json"
  echo "== the sparse arm64 bundle: distribution 2.8.2 refuses the original index (--sparse keep)..."
  (cd "$WORK" && "$FERRY" import arm64.tar --to "$DST/arm" -q) || true
  echo "== ...so --sparse strip pushes an index of the kept platform"
  (cd "$WORK" && "$FERRY" import arm64.tar --to "$DST/arm" --sparse strip --mapping-out arm.json -q && cat arm.json)
fi
echo "== done"
