#!/usr/bin/env bash
# ferry's benchmark (DESIGN.md §11): ferry vs skopeo vs a curl ceiling on the same data, same run.
#
#   scripts/bench.sh [--small] [--runs N] [--cases export,platform,import,verify,many]
#                    [--many-images N] [--many-signed S] [--[no-]many-parallel] [--no-build]
#                    [--import-baselines] [--keep]
#
#   --small             2 repos x 4 platforms x 2 layers of 24 MiB + 1 MiB (~250 MiB of unique
#                       blobs) instead of 4 x 5 x 3 of 44 MiB + 2 MiB (~1.9 GiB)
#   --runs N            repetitions per tool (default 3); the table shows the median
#   --cases LIST        subset of export,platform,import,verify,many (default: all five;
#                       --case is the same); without export, platform, import and verify the
#                       big data set is neither generated nor served (`--cases many` is quick)
#                         verify: `ferry verify` and `ferry verify --deep` of the export-all
#                           bundle (warm page cache) vs sha256sum / openssl over the same blobs
#                         many: many small single-platform images (a 2 MiB base layer shared by
#                           all + 2 own layers of 64-256 KiB each, some with a cosign signature):
#                           ferry export -f LIST (signature discovery on, and --no-signatures) /
#                           import of one bundle vs skopeo copy per image, one after another
#   --many-images N     images of the many case (default 100 with --small, 200 without; spread
#                       over 100 repositories, tags t0, t1, ...)
#   --many-signed S     every S-th image of the many case has a cosign signature (default 4:
#                       a quarter of them; 1: all; 0: none)
#   --many-parallel     add rows with skopeo two at a time (xargs -P 2) to the many case
#                       (default without --small; --no-many-parallel leaves them out; they
#                       would make `--small --runs 3` take about 1.5 minutes longer)
#   --no-build          do not run `cargo build --release` (FERRY=/path/to/ferry implies it)
#   --import-baselines  time skopeo and the curl upload ceiling even when `ferry import` does
#                       not exist yet (otherwise the whole import case is skipped)
#   --keep              keep the work directory (bundles, logs, curl configs)
#
# Generated data (OCI layouts written by scripts/bench/data.py, plus the source registry's
# storage seeded from them with skopeo) is cached under ${BENCH_DIR:-/tmp/ferry-bench}/<size key>/
# (the many case's under .../many-i<images>-r<repos>-b<base KiB>-o<own layers>x<KiB range>-s<signed>/)
# and reused by later runs. Every timed run starts after a `sync` and ends with one (a bundle
# counts when it is on disk). Wall time is measured around `/usr/bin/time -f %M`, which gives the
# max RSS of the run (the largest single process of it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELP=$ROOT/scripts/bench
DATA_PY=$HELP/data.py

size=full runs=3 cases=export,platform,import,verify,many build=1 keep=0 import_baselines=0
many_images= many_p2= many_signed=4
while [ $# -gt 0 ]; do
  case $1 in
    --small) size=small ;;
    --runs) runs=$2; shift ;;
    --runs=*) runs=${1#*=} ;;
    --cases|--case) cases=$2; shift ;;
    --cases=*|--case=*) cases=${1#*=} ;;
    --no-build) build=0 ;;
    --import-baselines) import_baselines=1 ;;
    --keep) keep=1 ;;
    --many-images) many_images=$2; shift ;;
    --many-images=*) many_images=${1#*=} ;;
    --many-signed) many_signed=$2; shift ;;
    --many-signed=*) many_signed=${1#*=} ;;
    --many-parallel) many_p2=1 ;;
    --no-many-parallel) many_p2=0 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --runs wants a positive number" >&2; exit 2; }
for c in ${cases//,/ }; do
  case $c in
    export|platform|import|verify|many) ;;
    *) echo "bench.sh: unknown case: $c (export, platform, import, verify, many)" >&2; exit 2 ;;
  esac
done
want() { [[ ",$cases," == *",$1,"* ]]; }
# The big data set serves every case but "many".
need_main=0
for c in export platform import verify; do if want $c; then need_main=1; fi; done

if [ "$size" = small ]; then
  n_repos=2 n_plats=4 n_layers=2 rnd_mib=24 txt_mib=1
else
  n_repos=4 n_plats=5 n_layers=3 rnd_mib=44 txt_mib=2
fi
# many: every image = 1 base layer (common to all images) + m_own layers of its own
m_repos=100 m_base_kib=2048 m_own=2 m_own_kib=64-256
if [ -z "$many_images" ]; then
  if [ "$size" = small ]; then many_images=100; else many_images=200; fi
fi
[[ $many_images =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --many-images wants a positive number" >&2; exit 2; }
[[ $many_signed =~ ^[0-9]+$ ]] || { echo "bench.sh: --many-signed wants a number" >&2; exit 2; }
if [ "$many_images" -lt "$m_repos" ]; then m_repos=$many_images; fi
if [ -z "$many_p2" ]; then
  if [ "$size" = small ]; then many_p2=0; else many_p2=1; fi
fi
BENCH_DIR=${BENCH_DIR:-/tmp/ferry-bench}
KEY="$size-r$n_repos-p$n_plats-l$n_layers-$rnd_mib+$txt_mib"
DATA=$BENCH_DIR/$KEY
META=$DATA/meta.json
PAR=8 # curl --parallel-max

log() { printf '%s\n' "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- tools ----------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (/usr/bin/time is missing)"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq time >/dev/null ||
    { "${sudo_cmd[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq time >/dev/null; }
fi
for c in skopeo docker-registry curl python3 awk flock; do
  command -v "$c" >/dev/null || die "$c is missing (scripts/setup.sh installs the peers)"
done
if [ -n "${FERRY:-}" ]; then
  build=0
else
  FERRY=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferry
fi
if [ "$build" = 1 ]; then
  log "cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
fi
[ -x "$FERRY" ] || die "no ferry binary at $FERRY"
have_import=0
if "$FERRY" import --help >/dev/null 2>&1; then have_import=1; fi
have_verify=0
if "$FERRY" verify --help >/dev/null 2>&1; then have_verify=1; fi

# ---- work dir, registries, cleanup ------------------------------------------------------------
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
mkdir -p "$WORK/cmd" "$WORK/logs" "$WORK/out"
declare -A REG_PID=() REG_PORT=()
cleanup() {
  local rc=$? name
  for name in "${!REG_PID[@]}"; do
    kill "${REG_PID[$name]}" 2>/dev/null || true
    wait "${REG_PID[$name]}" 2>/dev/null || true
  done
  if [ "$keep" = 1 ] || [ "$rc" -ne 0 ]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME STORAGE_DIR [PORT]: sets REG_PID[NAME], REG_PORT[NAME]
start_registry() {
  local name=$1 storage=$2 port=${3:-} i
  [ -n "$port" ] || port=$(free_port)
  mkdir -p "$storage"
  cat >"$WORK/$name.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
  docker-registry serve "$WORK/$name.yml" >>"$WORK/logs/registry-$name.log" 2>&1 &
  REG_PID[$name]=$!
  REG_PORT[$name]=$port
  for i in $(seq 200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then return 0; fi
    kill -0 "${REG_PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/logs/registry-$name.log" >&2
  die "registry $name did not start on 127.0.0.1:$port"
}
stop_registry() {
  local name=$1
  kill "${REG_PID[$name]}" 2>/dev/null || true
  wait "${REG_PID[$name]}" 2>/dev/null || true
  unset "REG_PID[$name]"
}

cat >"$WORK/policy.json" <<'JSON'
{"default":[{"type":"insecureAcceptAnything"}]}
JSON
SKOPEO="skopeo --policy $WORK/policy.json"

# ---- data set (cached) ----------------------------------------------------------------------
if [ "$need_main" = 1 ]; then
  exec 9>"$BENCH_DIR/$KEY.lock"
  flock 9
  if [ ! -f "$DATA/gen.ok" ]; then
    log "generating the $size data set in $DATA (once; later runs reuse it)"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    python3 "$DATA_PY" gen "$DATA" --repos "$n_repos" --platforms "$n_plats" --layers "$n_layers" \
      --random-mib "$rnd_mib" --text-mib "$txt_mib" 2>"$WORK/logs/gen.log" ||
      { cat "$WORK/logs/gen.log" >&2; die "data generation failed"; }
    touch "$DATA/gen.ok"
  fi
  REPOS=()
  for ((i = 0; i < n_repos; i++)); do REPOS+=("r$i"); done

  start_registry source "$DATA/registry"
  SRC=127.0.0.1:${REG_PORT[source]}
  ACCEPT="Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"
  seeded() { # every tag serves the index digest the generator wrote
    local r want got
    for r in "${REPOS[@]}"; do
      want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$DATA/$r/index.json")
      got=$(curl -fsS -I -H "$ACCEPT" "http://$SRC/v2/bench/$r/manifests/v1" 2>/dev/null |
            tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}') || true
      [ "$got" = "$want" ] || return 1
    done
  }
  if [ ! -f "$DATA/registry.ok" ] || ! seeded; then
    log "seeding the source registry storage ($DATA/registry) with skopeo"
    for r in "${REPOS[@]}"; do
      $SKOPEO copy -q --all --preserve-digests --dest-tls-verify=false \
        "oci:$DATA/$r:v1" "docker://$SRC/bench/$r:v1" >>"$WORK/logs/seed.log" 2>&1 ||
        { cat "$WORK/logs/seed.log" >&2; die "skopeo could not seed $r"; }
    done
    seeded || die "source registry does not serve what was generated"
    touch "$DATA/registry.ok"
  fi
  flock -u 9
fi

# ---- many small images (scripts/bench/many.sh, cached under their own key) ------------------
if want many; then
  # shellcheck source=bench/many.sh
  source "$HELP/many.sh"
  many_data
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
if [ "$need_main" = 1 ]; then
  UNIQUE=$(python3 "$DATA_PY" bytes "$META")
  ARM_BYTES=$(python3 "$DATA_PY" bytes "$META" --platform linux/arm64)
  NBLOBS=$(python3 "$DATA_PY" count "$META")
  # Warm the page cache: the data was just written (or is read once here), so every tool reads
  # it from memory, not from the disk.
  find "$DATA" -type f -exec cat {} + >/dev/null
  FLOOR_BYTES=$UNIQUE
else
  FLOOR_BYTES=$M_UNIQUE
fi

# ---- facts ----------------------------------------------------------------------------------
# Disk floor: writing as many bytes as the data set and syncing them (every export case ends
# with its output on disk, so no export can beat this on a slow disk).
sync
t0=$(date +%s%N)
dd if=/dev/zero of="$WORK/disk-floor" bs=1M count=$(( (FLOOR_BYTES + 1048575) / 1048576 )) status=none
sync
t1=$(date +%s%N)
rm -f "$WORK/disk-floor"
DISK_FLOOR=$(awk -v a="$t0" -v b="$t1" -v n="$FLOOR_BYTES" \
  'BEGIN { s = (b - a) / 1e9; printf "%.2f s (%.0f MiB/s)", s, n / 1048576 / s }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(df -PT "$BENCH_DIR" | awk 'NR == 2 { print $2 }')
ferry_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
if ! git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null; then ferry_rev="$ferry_rev+dirty"; fi
if [ "$need_main" = 1 ]; then
  cat <<EOF

## ferry benchmark ($size data set)

* data: $n_repos repositories × $n_plats platforms × $n_layers layers of $rnd_mib MiB random + $txt_mib MiB text
  (tar+gzip, layer 0 shared by the platforms of a repository): $NBLOBS unique blobs,
  **$UNIQUE bytes = $(mib "$UNIQUE") MiB** unique ($(mib "$ARM_BYTES") MiB for linux/arm64 only)
EOF
else
  printf '\n## ferry benchmark (case many only)\n\n'
fi
cat <<EOF
* machine: $(nproc) cores ($cpu), $mem RAM, $(uname -sr), $fs file system under $BENCH_DIR
* load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
* cache: **warm page cache** (the data set was just written or read once; nothing dropped)
* versions: ferry $ferry_rev, $(skopeo --version), $(docker-registry --version | awk '{print $1, $3}'), $(curl --version | head -1 | cut -d' ' -f1-2)
* registries: distribution on 127.0.0.1, plain http, filesystem storage on the same disk
* disk floor: \`dd\` of $(mib "$FLOOR_BYTES") MiB of zeros + \`sync\` takes $DISK_FLOOR
EOF
if want many; then
  cat <<EOF
* many (case "many"): $many_images single-platform images (an OCI manifest each, linux/amd64, no index) in
  $m_repos repositories × $( [ "$M_TAGS" = 1 ] && echo "tag t0" || echo "$M_TAGS tags (t0, t1, …)"), each of $((m_own + 1)) layers: one base layer of $m_base_kib KiB common to all
  images + $m_own layers of its own of $m_own_kib KiB (random bytes, tar+gzip level 0): $M_NBLOBS unique
  blobs, **$M_UNIQUE bytes = $(mib "$M_UNIQUE") MiB** unique (the base layer counted once);
  $M_SIGNED of them signed (a cosign \`sha256-<hex>.sig\` tag each, $((M_NBLOBS - M_NBLOBS_NOSIG)) of the blobs)
EOF
fi
cat <<EOF
* each tool: $runs runs, \`sync\` before each and as the last step of each timed run; median wall time
  (min–max in brackets); MiB/s = unique blob bytes of the case / median time; max RSS = largest
  process of the run (GNU time %M)

EOF

# ---- timing ---------------------------------------------------------------------------------
ROWS=$WORK/rows.tsv RUNS=$WORK/runs.tsv
: >"$ROWS"
: >"$RUNS"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$ROWS"; }

# cmdfile NAME: the timed command lines of one tool (stdin) become $WORK/cmd/NAME.sh
cmdfile() {
  { echo 'set -euo pipefail'; cat; echo 'sync'; } >"$WORK/cmd/$1.sh"
}
# timed CASE TOOL RUN NAME: runs $WORK/cmd/NAME.sh after a sync; appends to RUNS
timed() {
  local case=$1 tool=$2 run=$3 name=$4 t0 t1 rc=0 rss secs
  sync
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$WORK/time.out" bash "$WORK/cmd/$name.sh" \
    >>"$WORK/logs/$name.log" 2>&1 || rc=$?
  t1=$(date +%s%N)
  rss=$(tail -n 1 "$WORK/time.out")
  [[ $rss =~ ^[0-9]+$ ]] || rss=0
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$tool" "$run" "$secs" "$rss" "$rc" >>"$RUNS"
  if [ "$rc" -ne 0 ]; then
    log "$case / $tool run $run FAILED (exit $rc); last lines of $WORK/logs/$name.log:"
    tail -n 5 "$WORK/logs/$name.log" | sed 's/^/    /' >&2
    keep=1
  else
    log "$case / $tool run $run: $secs s, $((rss / 1024)) MiB"
  fi
  return "$rc"
}
# check WHAT CONDITION-COMMAND...: an untimed sanity check of a run's output
check() {
  local what=$1; shift
  if ! "$@"; then log "CHECK FAILED: $what"; keep=1; fi
}
files_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
tar_blobs() { tar tf "$1" | grep -c '^blobs/sha256/[0-9a-f]\{64\}$'; }

IMAGES=()
for r in "${REPOS[@]}"; do IMAGES+=("$SRC/bench/$r:v1"); done
OUT=$WORK/out

# The import target: a registry on empty storage, started afresh before every timed import.
DST_PORT=$(free_port)
DST=127.0.0.1:$DST_PORT
DST_DATA=$WORK/target-data
fresh_target() {
  if [ -n "${REG_PID[target]:-}" ]; then stop_registry target; fi
  rm -rf "$DST_DATA"
  start_registry target "$DST_DATA" "$DST_PORT"
}
# TARGETS lines for report.py: ratio CASE TOOL REF_TOOL MAX | mibs CASE TOOL MIN_MIB_S
TARGETS=$WORK/targets.tsv
: >"$TARGETS"
target() { local IFS=$'\t'; printf '%s\n' "$*" >>"$TARGETS"; }
NOTES=$WORK/notes.md
: >"$NOTES"

# ---- case 1: export all ---------------------------------------------------------------------
if want export; then
  C="export all"
  python3 "$DATA_PY" curl-get "$META" "http://$SRC" "$OUT/curl-all" >"$WORK/get-all.cfg"
  cmdfile export-ferry <<EOF
$FERRY export -q ${IMAGES[*]} -o $OUT/ferry-all.tar
EOF
  {
    for r in "${REPOS[@]}"; do
      echo "$SKOPEO copy -q --all --preserve-digests --src-tls-verify=false docker://$SRC/bench/$r:v1 oci-archive:$OUT/skopeo-all/$r.tar"
    done
  } | cmdfile export-skopeo
  cmdfile export-curl-par <<EOF
curl -s --fail --create-dirs --parallel --parallel-max $PAR -K $WORK/get-all.cfg
EOF
  cmdfile export-curl-seq <<EOF
curl -s --fail --create-dirs -K $WORK/get-all.cfg
EOF
  row "$C" ferry "$UNIQUE" tool
  row "$C" skopeo "$UNIQUE" skopeo "sequential, one oci-archive per repository"
  row "$C" "curl --parallel" "$UNIQUE" ceiling "one process, --parallel-max $PAR"
  row "$C" "curl sequential" "$UNIQUE" ceiling "one process, one blob after another"
  for ((run = 1; run <= runs; run++)); do
    rm -f "$OUT/ferry-all.tar"
    if timed "$C" ferry "$run" export-ferry && [ "$run" = 1 ]; then
      check "ferry bundle holds $NBLOBS blobs" test "$(tar_blobs "$OUT/ferry-all.tar")" = "$NBLOBS"
    fi
    rm -rf "$OUT/skopeo-all" && mkdir -p "$OUT/skopeo-all"
    timed "$C" skopeo "$run" export-skopeo || true
    for v in par seq; do
      rm -rf "$OUT/curl-all"
      if timed "$C" "curl $( [ $v = par ] && echo --parallel || echo sequential)" "$run" "export-curl-$v" &&
         [ "$run" = 1 ]; then
        check "curl ($v) downloaded $UNIQUE bytes" test "$(files_bytes "$OUT/curl-all")" = "$UNIQUE"
      fi
    done
    rm -rf "$OUT/curl-all"
  done
fi

# ---- case 2: export one platform ------------------------------------------------------------
if want platform; then
  C="export linux/arm64"
  python3 "$DATA_PY" curl-get "$META" "http://$SRC" "$OUT/curl-arm64" --platform linux/arm64 \
    >"$WORK/get-arm64.cfg"
  cmdfile platform-ferry <<EOF
$FERRY export -q --platform linux/arm64 ${IMAGES[*]} -o $OUT/ferry-arm64.tar
EOF
  {
    for r in "${REPOS[@]}"; do
      echo "$SKOPEO --override-arch arm64 copy -q --preserve-digests --src-tls-verify=false docker://$SRC/bench/$r:v1 oci-archive:$OUT/skopeo-arm64/$r.tar"
    done
  } | cmdfile platform-skopeo
  cmdfile platform-curl-par <<EOF
curl -s --fail --create-dirs --parallel --parallel-max $PAR -K $WORK/get-arm64.cfg
EOF
  row "$C" ferry "$ARM_BYTES" tool
  row "$C" skopeo "$ARM_BYTES" skopeo "--override-arch arm64, per repository"
  row "$C" "curl --parallel" "$ARM_BYTES" ceiling "the arm64 blobs + indexes"
  for ((run = 1; run <= runs; run++)); do
    rm -f "$OUT/ferry-arm64.tar"
    timed "$C" ferry "$run" platform-ferry || true
    rm -rf "$OUT/skopeo-arm64" && mkdir -p "$OUT/skopeo-arm64"
    timed "$C" skopeo "$run" platform-skopeo || true
    rm -rf "$OUT/curl-arm64"
    if timed "$C" "curl --parallel" "$run" platform-curl-par && [ "$run" = 1 ]; then
      check "curl downloaded $ARM_BYTES bytes" test "$(files_bytes "$OUT/curl-arm64")" = "$ARM_BYTES"
    fi
  done
  rm -rf "$OUT/skopeo-arm64" "$OUT/curl-arm64" "$OUT/ferry-arm64.tar"
fi

# ---- case 3: import all ---------------------------------------------------------------------
if want import; then
  C="import all"
  if [ "$have_import" = 0 ]; then
    row "$C" ferry 0 skip "import: not implemented yet"
  fi
  if [ "$have_import" = 1 ] || [ "$import_baselines" = 1 ]; then
    # Inputs (untimed): ferry's bundle and skopeo's per-repository archives of case 1.
    if [ ! -f "$OUT/ferry-all.tar" ]; then
      log "import: making the input bundle (untimed)"
      "$FERRY" export -q "${IMAGES[@]}" -o "$OUT/ferry-all.tar"
    fi
    mkdir -p "$OUT/skopeo-all"
    for r in "${REPOS[@]}"; do
      [ -f "$OUT/skopeo-all/$r.tar" ] ||
        $SKOPEO copy -q --all --preserve-digests --src-tls-verify=false \
          "docker://$SRC/bench/$r:v1" "oci-archive:$OUT/skopeo-all/$r.tar"
    done
    quiet=
    if [ "$have_import" = 1 ] && "$FERRY" import --help 2>/dev/null | grep -q -- '--quiet'; then quiet=-q; fi
    if [ "$have_import" = 1 ]; then
      cmdfile import-ferry <<EOF
cd $OUT
$FERRY import ${quiet:+$quiet }$OUT/ferry-all.tar --to $DST/imp
EOF
    fi
    {
      for r in "${REPOS[@]}"; do
        echo "$SKOPEO copy -q --all --preserve-digests --dest-tls-verify=false oci-archive:$OUT/skopeo-all/$r.tar docker://$DST/imp/bench/$r:v1"
      done
    } | cmdfile import-skopeo
    {
      for r in "${REPOS[@]}"; do
        echo "$SKOPEO copy -q --all --preserve-digests --dest-tls-verify=false oci-archive:$OUT/ferry-all.tar:$SRC/bench/$r:v1 docker://$DST/imp/bench/$r:v1"
      done
    } | cmdfile import-skopeo-bundle
    # Upload ceiling: POST one upload session per blob (one curl process), pair the sessions
    # with the blobs (awk; any session of a repository fits any of its blobs), PUT every blob
    # with ?digest= (one curl process), then PUT the manifests and tag the indexes (one more).
    python3 "$DATA_PY" curl-post "$META" "http://$DST" imp >"$WORK/post.cfg"
    python3 "$DATA_PY" put-template "$META" "http://$DST" imp >"$WORK/put-template.tsv"
    python3 "$DATA_PY" curl-manifests "$META" "http://$DST" imp >"$WORK/manifests.cfg"
    cmdfile import-curl <<EOF
curl -s --fail --parallel --parallel-max $PAR -K $WORK/post.cfg >$WORK/locations.txt
awk -f $HELP/put-config.awk $WORK/locations.txt $WORK/put-template.tsv >$WORK/put.cfg
curl -s --fail --parallel --parallel-max $PAR -K $WORK/put.cfg >$WORK/put.out
curl -s --fail -K $WORK/manifests.cfg >$WORK/manifests.out
EOF
    if [ "$have_import" = 1 ]; then row "$C" ferry "$UNIQUE" tool "one bundle"; fi
    row "$C" skopeo "$UNIQUE" skopeo "sequential, from the per-repository oci-archives of case 1"
    row "$C" "skopeo from ferry bundle" "$UNIQUE" tool "per image, oci-archive:bundle.tar:REF"
    row "$C" "curl upload" "$UNIQUE" ceiling "POST, then PUT ?digest= (--parallel-max $PAR), then manifests"
    served() { # the target serves every tag under imp/bench/ with the source's digest
      local r want got
      for r in "${REPOS[@]}"; do
        want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$DATA/$r/index.json")
        got=$(curl -fsS -I -H "$ACCEPT" "http://$DST/v2/imp/bench/$r/manifests/v1" 2>/dev/null |
              tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}') || true
        [ "$got" = "$want" ] || return 1
      done
    }
    for ((run = 1; run <= runs; run++)); do
      if [ "$have_import" = 1 ]; then
        fresh_target
        timed "$C" ferry "$run" import-ferry || true
        # ferry's names are its own (§5): follow its relocation-mapping.json
        if [ "$run" = 1 ]; then
          check "ferry import: every target in relocation-mapping.json serves its index" \
            python3 "$DATA_PY" check-mapping "$META" "$OUT/relocation-mapping.json"
        fi
      fi
      fresh_target
      if timed "$C" skopeo "$run" import-skopeo && [ "$run" = 1 ]; then
        check "skopeo import: target serves every tag" served
      fi
      fresh_target
      if timed "$C" "skopeo from ferry bundle" "$run" import-skopeo-bundle && [ "$run" = 1 ]; then
        check "skopeo import from the ferry bundle: target serves every tag" served
      fi
      fresh_target
      if timed "$C" "curl upload" "$run" import-curl && [ "$run" = 1 ]; then
        check "curl upload: every PUT answered 201" \
          awk '$1 != 201 { bad = 1 } END { exit bad }' "$WORK/put.out" "$WORK/manifests.out"
        check "curl upload: target serves every tag" served
      fi
    done
    stop_registry target
  fi
fi

# ---- case 4: verify -------------------------------------------------------------------------
if want verify; then
  C="verify"
  if [ "$have_verify" = 0 ]; then
    row "$C" ferry 0 skip "verify: not implemented yet"
    log "verify: not implemented yet"
  else
    # Input (untimed): ferry's export-all bundle of case 1.
    if [ ! -f "$OUT/ferry-all.tar" ]; then
      log "verify: making the input bundle (untimed)"
      "$FERRY" export -q "${IMAGES[@]}" -o "$OUT/ferry-all.tar"
    fi
    read -r V_BYTES V_COUNT < <(python3 "$DATA_PY" tar-blob-bytes "$OUT/ferry-all.tar")
    if [ "$V_COUNT" != "$NBLOBS" ] || [ "$V_BYTES" != "$UNIQUE" ]; then
      log "verify: the bundle holds $V_COUNT blobs of $V_BYTES bytes, the data set $NBLOBS of $UNIQUE"
    fi
    # The reference rows hash the same blobs as files: the generated layouts hold one file per
    # unique blob. For two openssl processes, the files are split in two halves of equal bytes.
    # sha256sum (slow: coreutils' own C code) hashes only the first layout directory.
    for r in "${REPOS[@]}"; do find "$DATA/$r/blobs/sha256" -type f -printf '%s\t%p\n'; done |
      sort -rn >"$WORK/blob-files.tsv"
    cut -f2 "$WORK/blob-files.tsv" >"$WORK/blob-files.txt"
    find "$DATA/${REPOS[0]}/blobs/sha256" -type f >"$WORK/blob-files-${REPOS[0]}.txt"
    R0_BYTES=$(files_bytes "$DATA/${REPOS[0]}/blobs/sha256")
    awk -F'\t' -v A="$WORK/blob-files.0" -v B="$WORK/blob-files.1" \
      '{ if (a <= b) { print $2 > A; a += $1 } else { print $2 > B; b += $1 } }' "$WORK/blob-files.tsv"
    check "the layouts' blob files hold $UNIQUE bytes" \
      test "$(awk -F'\t' '{ s += $1 } END { print s + 0 }' "$WORK/blob-files.tsv")" = "$UNIQUE"
    # Warm page cache: the bundle was just written (case 1) and the blob files read at the start;
    # read both once more so that every run of every row reads from memory.
    cat "$OUT/ferry-all.tar" >/dev/null
    xargs -a "$WORK/blob-files.txt" cat >/dev/null
    cmdfile verify-ferry <<EOF
$FERRY verify -q --json $OUT/ferry-all.tar >$OUT/verify.json
EOF
    cmdfile verify-ferry-deep <<EOF
$FERRY verify -q --deep --json $OUT/ferry-all.tar >$OUT/verify-deep.json
EOF
    cmdfile verify-sha256sum <<EOF
xargs -a $WORK/blob-files-${REPOS[0]}.txt sha256sum >/dev/null
EOF
    cmdfile verify-openssl <<EOF
xargs -a $WORK/blob-files.txt openssl dgst -sha256 >/dev/null
EOF
    cmdfile verify-openssl-p2 <<EOF
xargs -a $WORK/blob-files.0 openssl dgst -sha256 >/dev/null &
p=\$!
xargs -a $WORK/blob-files.1 openssl dgst -sha256 >/dev/null
wait \$p
EOF
    row "$C" "ferry verify" "$V_BYTES" tool "the bundle: every blob hashed, default threads"
    row "$C" "ferry verify --deep" "$V_BYTES" tool "+ every layer uncompressed and checked against its diff_id"
    row "$C" "sha256sum" "$R0_BYTES" tool "one process, the blob files of one layout directory (${REPOS[0]})"
    row "$C" "openssl dgst -sha256" "$UNIQUE" tool "one process, the same blobs as files"
    row "$C" "openssl dgst -sha256 ×2" "$UNIQUE" ceiling "two processes, each half of the bytes"
    target mibs "$C" "ferry verify" 1024
    for ((run = 1; run <= runs; run++)); do
      timed "$C" "ferry verify" "$run" verify-ferry || true
      timed "$C" "ferry verify --deep" "$run" verify-ferry-deep || true
      timed "$C" sha256sum "$run" verify-sha256sum || true
      timed "$C" "openssl dgst -sha256" "$run" verify-openssl || true
      timed "$C" "openssl dgst -sha256 ×2" "$run" verify-openssl-p2 || true
    done
    {
      echo "* verify: **warm page cache** (the bundle was written earlier in this run$(want export || echo ', untimed,') and"
      echo "  read once more before timing; the blob files likewise; nothing dropped); bundle: $V_COUNT blobs,"
      echo "  $V_BYTES bytes of blobs in $(stat -c %s "$OUT/ferry-all.tar") bytes of tar; the openssl rows read the same"
      echo "  blobs from the generated OCI layouts ($(wc -l <"$WORK/blob-files.txt") files), sha256sum those of ${REPOS[0]}"
      echo "  ($(wc -l <"$WORK/blob-files-${REPOS[0]}.txt") files, $(mib "$R0_BYTES") MiB)"
      python3 - "$OUT/verify.json" "$OUT/verify-deep.json" <<'PY' || true
import json, sys
for path, what in zip(sys.argv[1:], ("ferry verify", "ferry verify --deep")):
    try:
        h = json.load(open(path)).get("hashing") or {}
    except Exception:
        continue
    if h:
        print(f"* {what}, its own figure (--json \"hashing\", last run): {h.get('mib_per_s', 0):.0f} MiB/s"
              f" on {h.get('threads')} thread(s), {h.get('seconds', 0):.2f} s for {h.get('members')} members"
              f" (hashed_when_opened: {str(h.get('hashed_when_opened')).lower()})")
PY
    } >>"$NOTES"
  fi
fi

# ---- case 5: many small images (scripts/bench/many.sh) ---------------------------------------
if want many; then
  many_case
fi

# ---- report ---------------------------------------------------------------------------------
if [ "$need_main" = 1 ]; then
  echo "### Results ($size: $(mib "$UNIQUE") MiB unique, $runs runs, load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
else
  echo "### Results (many: $(mib "$M_UNIQUE") MiB unique, $runs runs, load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
fi
echo
python3 "$HELP/report.py" "$ROWS" "$RUNS" "$TARGETS"
echo
echo "Ratios are median time ÷ median time of the skopeo row / of the ceiling row of the same"
echo "case (below 1 = faster). Where a case has two curl rows (export all: one curl process with"
echo "\`--parallel --parallel-max $PAR\`, and the same process one blob at a time), the ceiling is"
echo "the faster of them in this run, marked ★."
if [ -s "$NOTES" ]; then
  echo
  cat "$NOTES"
fi
echo
echo "<details><summary>command lines</summary>"
echo
for name in export-ferry export-skopeo export-curl-par export-curl-seq \
  platform-ferry platform-skopeo platform-curl-par \
  import-ferry import-skopeo import-skopeo-bundle import-curl \
  verify-ferry verify-ferry-deep verify-sha256sum verify-openssl verify-openssl-p2 \
  many-export-ferry many-export-ferry-nosig many-export-skopeo many-export-skopeo-p2 many-export-curl \
  many-import-ferry many-import-skopeo many-import-skopeo-p2; do
  f=$WORK/cmd/$name.sh
  [ -f "$f" ] || continue
  echo "$name:"
  echo '```'
  # one line per image (many case): show the first two and the last
  grep -v '^set -euo pipefail$' "$f" | awk '
    { line[NR] = $0 }
    END {
      if (NR <= 8) { for (i = 1; i <= NR; i++) print line[i]; exit }
      print line[1]; print line[2]
      print "# … " NR - 4 " more lines like these, one per image …"
      print line[NR - 1]; print line[NR]
    }'
  echo '```'
done
echo "</details>"
