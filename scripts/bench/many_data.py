"""The many-small-images data set of scripts/bench.sh (the "many" case); data.py documents the
commands and dispatches to these functions.

Images can carry a cosign 2 signature each (a `sha256-<hex>.sig` tag: simple-signing payload,
signature annotation), so that `ferry export` finds something when it looks for signatures:
the case compares an export with discovery against the same export with --no-signatures.
The signatures are not valid ones (the bench never checks them); ferry carries them as they are.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

from data import MT_CONFIG, MT_LAYER, MT_MANIFEST, Layout, canon, load, q

MT_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"


def make_layer_bytes(seed, nbytes):
    """Like data.make_layer, but the tar holds one file of nbytes seeded random bytes."""
    rng = random.Random(seed)
    data = rng.randbytes(nbytes)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        ti = tarfile.TarInfo(f"{seed}/random.bin")
        ti.size = len(data)
        ti.mode = 0o644
        ti.mtime = 0
        tf.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    return gzip.compress(tar, compresslevel=0, mtime=0), "sha256:" + hashlib.sha256(tar).hexdigest()


def signature(add, ref, repo, mdesc):
    """A cosign 2 signature manifest over mdesc, the way cosign lays it out."""
    payload = json.dumps({
        "critical": {"identity": {"docker-reference": f"bench/{repo}"},
                     "image": {"docker-manifest-digest": mdesc["digest"]},
                     "type": "cosign container image signature"},
        "optional": None}, separators=(",", ":")).encode()
    ldesc = add(payload, MT_SIMPLESIGNING, "signature")
    fake = base64.b64encode(hashlib.sha256(b"sig:" + payload).digest()).decode()
    ldesc = {**ldesc, "annotations": {SIG_ANNOTATION: fake}}
    cfg = {"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
           "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
           "rootfs": {"type": "layers", "diff_ids": [ldesc["digest"]]}}
    cdesc = add(canon(cfg), MT_CONFIG, "signature")
    man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc, "layers": [ldesc]}
    sdesc = add(canon(man), MT_MANIFEST, "signature")
    tag = "sha256-" + mdesc["digest"].split(":", 1)[1] + ".sig"
    return {"ref": ref + ".sig", "tag": tag, "manifest": sdesc,
            "blobs": [cdesc["digest"], ldesc["digest"]]}


def gen_many(args):
    lo, hi = (int(x) for x in args.own_kib.split("-"))
    lay = Layout(os.path.join(args.dir, "layout"))
    blobs = {}

    def add(data, mt, kind):
        d, n = lay.put(data)
        blobs.setdefault(d, {"digest": d, "size": n, "mediaType": mt, "kind": kind})
        return {"mediaType": mt, "digest": d, "size": n}

    key = f"many-b{args.base_kib}-o{args.own_layers}x{args.own_kib}"
    base = make_layer_bytes(f"{key}-base", args.base_kib * 1024)
    sizes = random.Random(f"{key}-sizes")
    images, top = [], []
    for i in range(args.images):
        layers = [base] + [make_layer_bytes(f"{key}-i{i}-l{k}", sizes.randint(lo, hi) * 1024)
                           for k in range(args.own_layers)]
        ldescs = [add(data, MT_LAYER, "layer") for data, _ in layers]
        cfg = {
            "created": "2024-01-01T00:00:00Z",
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"],
                       "Labels": {"io.ferry.bench.image": str(i)}},
            "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {k}"}
                        for k in range(len(layers))],
        }
        cdesc = add(canon(cfg), MT_CONFIG, "config")
        man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc, "layers": ldescs}
        mdesc = add(canon(man), MT_MANIFEST, "manifest")
        ref = f"i{i:04d}"
        repo = f"many/m{i % args.repos:03d}"
        top.append({**mdesc, "annotations": {"org.opencontainers.image.ref.name": ref}})
        image = {"ref": ref, "repo": repo, "tag": f"t{i // args.repos}", "manifest": mdesc,
                 "blobs": [cdesc["digest"]] + [d["digest"] for d in ldescs]}
        if args.signed and i % args.signed == 0:
            sig = signature(add, ref, repo, mdesc)
            top.append({**sig["manifest"],
                        "annotations": {"org.opencontainers.image.ref.name": sig["ref"]}})
            image["signature"] = sig
        images.append(image)
    with open(os.path.join(lay.root, "index.json"), "wb") as f:
        f.write(canon({"schemaVersion": 2, "manifests": top}))
    with open(os.path.join(lay.root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    meta = {"kind": "many", "layout": lay.root, "images": images,
            "blobs": list(blobs.values()),
            "unique_bytes": sum(b["size"] for b in blobs.values())}
    with open(os.path.join(args.dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    signed = sum(1 for im in images if "signature" in im)
    print(f"gen-many: {len(images)} images ({signed} signed), {len(blobs)} unique blobs, "
          f"{meta['unique_bytes']} bytes", file=sys.stderr)


def many_blobs(meta, signatures=True):
    """The set's blobs (manifests included), without the signatures' when not signatures."""
    return [b for b in meta["blobs"] if signatures or b["kind"] != "signature"]


def cmd_many_list(args):
    for im in load(args.meta)["images"]:
        if args.signatures:
            if "signature" in im:
                s = im["signature"]
                print("\t".join([s["ref"], im["repo"], s["tag"]]))
        else:
            print("\t".join([im["ref"], im["repo"], im["tag"]]))


def cmd_many_curl_get(args):
    meta = load(args.meta)
    print("header = " + q("Accept: " + MT_MANIFEST))
    seen = set()
    for im in meta["images"]:
        parts = [im] + ([im["signature"]] if "signature" in im else [])
        for p in parts:
            for d, ep in [(p["manifest"]["digest"], "manifests")] + [(b, "blobs") for b in p["blobs"]]:
                if d in seen:
                    continue
                seen.add(d)
                print("url = " + q("%s/v2/bench/%s/%s/%s" % (args.base, im["repo"], ep, d)))
                print("output = " + q(os.path.join(args.outdir, d)))


def head_digest(url, accept):
    import urllib.request
    req = urllib.request.Request(url, method="HEAD", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.headers.get("Docker-Content-Digest")
    except Exception as e:  # noqa: BLE001 - report any failure as a mismatch
        return f"error {e}"


def cmd_many_served(args):
    meta = load(args.meta)
    targets = {}
    if args.mapping:
        with open(args.mapping) as f:
            mapping = json.load(f)
        for src, dst in mapping.items():
            targets[src.split("/bench/", 1)[-1]] = dst
    bad = []
    for im in meta["images"]:
        want = im["manifest"]["digest"]
        key = f"{im['repo']}:{im['tag']}"
        if args.mapping:
            dst = targets.get(key)
            if dst is None:
                bad.append(f"no mapping entry for bench/{key}")
                continue
            host, rest = dst.split("/", 1)
            name, ref = (rest.split("@", 1) if "@" in rest else rest.rsplit(":", 1))
        else:
            name = "/".join(x for x in (args.prefix, "bench", im["repo"]) if x)
            host, ref = args.host, im["tag"]
        got = head_digest(f"http://{host}/v2/{name}/manifests/{ref}", MT_MANIFEST)
        if got != want:
            bad.append(f"{host}/{name}:{ref}: {got} (want {want})")
        sig = im.get("signature")
        if args.signatures and sig and not args.mapping:
            got = head_digest(f"http://{host}/v2/{name}/manifests/{sig['tag']}", MT_MANIFEST)
            if got != sig["manifest"]["digest"]:
                bad.append(f"{host}/{name}:{sig['tag']}: {got} (want {sig['manifest']['digest']})")
    for line in bad[:10]:
        print("many-served: " + line, file=sys.stderr)
    if len(bad) > 10:
        print(f"many-served: ... and {len(bad) - 10} more", file=sys.stderr)
    sys.exit(1 if bad else 0)
