# The "many" case of scripts/bench.sh (sourced by it; uses its variables and helpers): many
# small single-platform images, most of them signed with a cosign signature, exported by ferry
# with signature discovery and with --no-signatures, by skopeo one image at a time, and by one
# curl process; imported by ferry from the one bundle and by skopeo from per-image archives.

# many_data: generates (once, cached) and serves the data set; sets MSRC, MMETA, M_* counts.
many_data() {
  MKEY="many-i$many_images-r$m_repos-b$m_base_kib-o${m_own}x$m_own_kib-s$many_signed"
  MDATA=$BENCH_DIR/$MKEY
  MMETA=$MDATA/meta.json
  exec 8>"$BENCH_DIR/$MKEY.lock"
  flock 8
  if [ ! -f "$MDATA/gen.ok" ]; then
    log "generating the many-images data set in $MDATA (once; later runs reuse it)"
    rm -rf "$MDATA"
    mkdir -p "$MDATA"
    python3 "$DATA_PY" gen-many "$MDATA" --images "$many_images" --repos "$m_repos" \
      --base-kib "$m_base_kib" --own-layers "$m_own" --own-kib "$m_own_kib" \
      --signed "$many_signed" 2>"$WORK/logs/gen-many.log" ||
      { cat "$WORK/logs/gen-many.log" >&2; die "many-images data generation failed"; }
    touch "$MDATA/gen.ok"
  fi
  start_registry msrc "$MDATA/registry"
  MSRC=127.0.0.1:${REG_PORT[msrc]}
  # "<layout ref>\t<repository>\t<tag>" per image
  python3 "$DATA_PY" many-list "$MMETA" >"$WORK/many-images.tsv"
  # the same per signature (tag sha256-<hex>.sig beside its image)
  python3 "$DATA_PY" many-list "$MMETA" --signatures >"$WORK/many-sigs.tsv"
  if [ ! -f "$MDATA/registry.ok" ] ||
     ! python3 "$DATA_PY" many-served "$MMETA" "$MSRC" "" --signatures 2>/dev/null; then
    log "seeding the many-images registry storage ($MDATA/registry) with skopeo (xargs -P 4)"
    awk -v L="$MDATA/layout" -v S="$MSRC" '{ print "oci:" L ":" $1, "docker://" S "/bench/" $2 ":" $3 }' \
      "$WORK/many-images.tsv" "$WORK/many-sigs.tsv" |
      xargs -P 4 -n 2 $SKOPEO copy -q --preserve-digests --dest-tls-verify=false \
        >>"$WORK/logs/seed-many.log" 2>&1 ||
      { tail -n 20 "$WORK/logs/seed-many.log" >&2; die "skopeo could not seed the many-images registry"; }
    python3 "$DATA_PY" many-served "$MMETA" "$MSRC" "" --signatures ||
      die "the many-images registry does not serve what was generated"
    touch "$MDATA/registry.ok"
  fi
  flock -u 8
  M_UNIQUE=$(python3 "$DATA_PY" bytes "$MMETA")
  M_NBLOBS=$(python3 "$DATA_PY" count "$MMETA")
  # without the signatures: what skopeo and ferry --no-signatures carry
  M_UNIQUE_NOSIG=$(python3 "$DATA_PY" bytes "$MMETA" --no-signatures)
  M_NBLOBS_NOSIG=$(python3 "$DATA_PY" count "$MMETA" --no-signatures)
  M_SIGNED=$(grep -c . "$WORK/many-sigs.tsv" || true)
  M_TAGS=$(( (many_images + m_repos - 1) / m_repos ))
  find "$MDATA/layout" -type f -exec cat {} + >/dev/null
}

# many_case: the timed runs of the case (rows, targets and notes for the report).
many_case() {
  CE="many: export" CI="many: import"
  MOUT=$OUT/many
  mkdir -p "$MOUT"
  # one reference per line
  awk -v S="$MSRC" '{ print S "/bench/" $2 ":" $3 }' "$WORK/many-images.tsv" >"$WORK/many-list.txt"
  cmdfile many-export-ferry <<EOF
$FERRY export -q -f $WORK/many-list.txt -o $MOUT/ferry.tar
EOF
  cmdfile many-export-ferry-nosig <<EOF
$FERRY export -q --no-signatures -f $WORK/many-list.txt -o $MOUT/ferry-nosig.tar
EOF
  awk -v K="$SKOPEO" -v S="$MSRC" -v O="$MOUT/skopeo" '{
    print K " copy -q --preserve-digests --src-tls-verify=false docker://" S "/bench/" $2 ":" $3 \
      " oci-archive:" O "/" $1 ".tar" }' "$WORK/many-images.tsv" | cmdfile many-export-skopeo
  awk -v S="$MSRC" -v O="$MOUT/skopeo-p2" '{
    print "docker://" S "/bench/" $2 ":" $3, "oci-archive:" O "/" $1 ".tar" }' \
    "$WORK/many-images.tsv" >"$WORK/many-export-pairs.txt"
  if [ "$many_p2" = 1 ]; then
    cmdfile many-export-skopeo-p2 <<EOF
xargs -P 2 -n 2 $SKOPEO copy -q --preserve-digests --src-tls-verify=false <$WORK/many-export-pairs.txt
EOF
  fi
  python3 "$DATA_PY" many-curl-get "$MMETA" "http://$MSRC" "$MOUT/curl" >"$WORK/many-get.cfg"
  cmdfile many-export-curl <<EOF
curl -s --fail --create-dirs --parallel --parallel-max $PAR -K $WORK/many-get.cfg
EOF
  row "$CE" ferry "$M_UNIQUE" tool "-f LIST, one bundle, signatures and referrers discovered"
  row "$CE" "ferry --no-signatures" "$M_UNIQUE_NOSIG" tool "the same without discovery"
  row "$CE" skopeo "$M_UNIQUE_NOSIG" skopeo "sequential, one oci-archive per image, no signatures: the baseline"
  if [ "$many_p2" = 1 ]; then
    row "$CE" "skopeo xargs -P 2" "$M_UNIQUE_NOSIG" tool "two at a time, one oci-archive per image"
  fi
  row "$CE" "curl --parallel" "$M_UNIQUE" ceiling "one process, --parallel-max $PAR, every unique blob once"
  target ratio "$CE" ferry skopeo 0.5
  # Discovery (a referrers query and four tag HEADs per manifest) within 1.25x of none at all.
  target ratio "$CE" ferry "ferry --no-signatures" 1.25
  if [ "$many_p2" = 1 ]; then target ratio "$CE" ferry "skopeo xargs -P 2" ""; fi
  for ((run = 1; run <= runs; run++)); do
    rm -f "$MOUT/ferry.tar"
    if timed "$CE" ferry "$run" many-export-ferry && [ "$run" = 1 ]; then
      check "ferry many bundle holds $M_NBLOBS blobs" test "$(tar_blobs "$MOUT/ferry.tar")" = "$M_NBLOBS"
      check "ferry many bundle lists $((many_images + M_SIGNED)) entries (images and signatures)" \
        test "$(tar -xOf "$MOUT/ferry.tar" index.json | grep -o '"org.opencontainers.image.ref.name"' | wc -l)" = "$((many_images + M_SIGNED))"
    fi
    rm -f "$MOUT/ferry-nosig.tar"
    if timed "$CE" "ferry --no-signatures" "$run" many-export-ferry-nosig && [ "$run" = 1 ]; then
      check "ferry --no-signatures bundle holds $M_NBLOBS_NOSIG blobs" \
        test "$(tar_blobs "$MOUT/ferry-nosig.tar")" = "$M_NBLOBS_NOSIG"
    fi
    rm -f "$MOUT/ferry-nosig.tar"
    rm -rf "$MOUT/skopeo" && mkdir -p "$MOUT/skopeo"
    if timed "$CE" skopeo "$run" many-export-skopeo && [ "$run" = 1 ]; then
      check "skopeo wrote $many_images oci-archives" \
        test "$(find "$MOUT/skopeo" -name '*.tar' | wc -l)" = "$many_images"
    fi
    if [ "$many_p2" = 1 ]; then
      rm -rf "$MOUT/skopeo-p2" && mkdir -p "$MOUT/skopeo-p2"
      if timed "$CE" "skopeo xargs -P 2" "$run" many-export-skopeo-p2 && [ "$run" = 1 ]; then
        check "skopeo (xargs -P 2) wrote $many_images oci-archives" \
          test "$(find "$MOUT/skopeo-p2" -name '*.tar' | wc -l)" = "$many_images"
      fi
    fi
    rm -rf "$MOUT/curl"
    if timed "$CE" "curl --parallel" "$run" many-export-curl && [ "$run" = 1 ]; then
      check "curl downloaded $M_UNIQUE bytes" test "$(files_bytes "$MOUT/curl")" = "$M_UNIQUE"
    fi
  done
  rm -rf "$MOUT/skopeo-p2" "$MOUT/curl"

  # Import inputs: ferry's bundle and skopeo's per-image archives of the last export run (or
  # made here, untimed, when those runs failed).
  if [ ! -f "$MOUT/ferry.tar" ] && [ "$have_import" = 1 ]; then
    log "many: making the input bundle (untimed)"
    "$FERRY" export -q -f "$WORK/many-list.txt" -o "$MOUT/ferry.tar"
  fi
  if [ "$(find "$MOUT/skopeo" -name '*.tar' 2>/dev/null | wc -l)" != "$many_images" ]; then
    log "many: making the per-image oci-archives (untimed)"
    rm -rf "$MOUT/skopeo" && mkdir -p "$MOUT/skopeo"
    bash "$WORK/cmd/many-export-skopeo.sh" >>"$WORK/logs/many-export-skopeo.log" 2>&1
  fi
  quiet=
  if [ "$have_import" = 1 ] && "$FERRY" import --help 2>/dev/null | grep -q -- '--quiet'; then quiet=-q; fi
  if [ "$have_import" = 1 ]; then
    cmdfile many-import-ferry <<EOF
cd $MOUT
$FERRY import ${quiet:+$quiet }$MOUT/ferry.tar --to $DST/imp --mapping-out $MOUT/mapping.json
EOF
  fi
  awk -v K="$SKOPEO" -v D="$DST" -v O="$MOUT/skopeo" '{
    print K " copy -q --preserve-digests --dest-tls-verify=false oci-archive:" O "/" $1 ".tar" \
      " docker://" D "/imp/bench/" $2 ":" $3 }' "$WORK/many-images.tsv" | cmdfile many-import-skopeo
  awk -v D="$DST" -v O="$MOUT/skopeo" '{
    print "oci-archive:" O "/" $1 ".tar", "docker://" D "/imp/bench/" $2 ":" $3 }' \
    "$WORK/many-images.tsv" >"$WORK/many-import-pairs.txt"
  if [ "$many_p2" = 1 ]; then
    cmdfile many-import-skopeo-p2 <<EOF
xargs -P 2 -n 2 $SKOPEO copy -q --preserve-digests --dest-tls-verify=false <$WORK/many-import-pairs.txt
EOF
  fi
  if [ "$have_import" = 1 ]; then
    row "$CI" ferry "$M_UNIQUE" tool "one bundle, signatures included"
  else
    row "$CI" ferry 0 skip "import: not implemented yet"
  fi
  row "$CI" skopeo "$M_UNIQUE_NOSIG" skopeo "sequential, from the per-image oci-archives: the baseline"
  if [ "$many_p2" = 1 ]; then
    row "$CI" "skopeo xargs -P 2" "$M_UNIQUE_NOSIG" tool "two at a time, from the per-image oci-archives"
  fi
  target ratio "$CI" ferry skopeo 0.5
  if [ "$many_p2" = 1 ]; then target ratio "$CI" ferry "skopeo xargs -P 2" ""; fi
  for ((run = 1; run <= runs; run++)); do
    if [ "$have_import" = 1 ]; then
      fresh_target
      if timed "$CI" ferry "$run" many-import-ferry && [ "$run" = 1 ]; then
        check "ferry import (many): every target in mapping.json serves its manifest" \
          python3 "$DATA_PY" many-served "$MMETA" "$DST" imp --mapping "$MOUT/mapping.json"
      fi
    fi
    fresh_target
    if timed "$CI" skopeo "$run" many-import-skopeo && [ "$run" = 1 ]; then
      check "skopeo import (many): target serves every tag" \
        python3 "$DATA_PY" many-served "$MMETA" "$DST" imp
    fi
    if [ "$many_p2" = 1 ]; then
      fresh_target
      if timed "$CI" "skopeo xargs -P 2" "$run" many-import-skopeo-p2 && [ "$run" = 1 ]; then
        check "skopeo import (many, xargs -P 2): target serves every tag" \
          python3 "$DATA_PY" many-served "$MMETA" "$DST" imp
      fi
    fi
  done
  stop_registry target
  {
    echo "* many: the skopeo baseline is **sequential** (one \`skopeo copy\` per image, one after"
    if [ "$many_p2" = 1 ]; then
      echo "  another); the \`xargs -P 2\` rows run two at a time."
    else
      echo "  another); rows with two skopeo at a time were left out (--many-parallel adds them)."
    fi
    echo "  Export: skopeo writes one oci-archive per image (so it fetches the common base layer"
    echo "  $many_images times), ferry one bundle holding it once."
    echo "  Signatures: ferry's default export finds and carries the $M_SIGNED cosign signatures (one"
    echo "  referrers query and four tag HEADs per manifest, signatures included, asked -j at a"
    echo "  time); --no-signatures and skopeo (no sigstore attachments configured) carry none."
    echo "  Import: every timed run starts on an empty registry; there is no upload ceiling row for"
    echo "  this case. MiB/s = the set's unique bytes (base layer once) / median time."
  } >>"$NOTES"
}
