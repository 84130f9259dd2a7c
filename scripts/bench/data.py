#!/usr/bin/env python3
"""Data set and curl-config helper for scripts/bench.sh (DESIGN.md §11).

  data.py gen DIR --repos R --platforms P --layers L --random-mib X --text-mib Y
      Writes one OCI image layout per repository (DIR/r0, DIR/r1, ...; tag v1 = an OCI index
      over P platforms, each manifest with L layers; layer 0 is shared by all platforms of a
      repository) and DIR/meta.json describing every blob. Layers are real tar+gzip (gzip
      level 0, "stored", so generating them costs little) of X MiB seeded random bytes plus
      Y MiB of text; configs carry correct diff_ids. Same arguments => same bytes.
  data.py bytes META [--platform linux/arm64]
      Unique blob bytes of the whole set, or of the blobs one platform export needs
      (index + that platform's manifest, config and layers).
  data.py count META      Number of unique blobs.
  data.py curl-get META BASE OUTDIR [--platform linux/arm64]
      curl config downloading every blob (configs and layers from /blobs/, index and manifests
      from /manifests/ by digest) of every repository into OUTDIR.
  data.py curl-post META BASE PREFIX
      curl config starting one upload session per config/layer blob (POST .../blobs/uploads/).
  data.py put-template META BASE PREFIX
      "<POST url>\t<digest>\t<blob file>" per config/layer blob; bench.sh pairs these with the
      session URLs the POST run printed (any session of a repository fits any of its blobs)
      and writes the PUT config (PUT LOCATION&digest=..., body = the blob file).
  data.py curl-manifests META BASE PREFIX
      curl config putting every manifest by digest and then each index by tag v1, in order.
  data.py check-mapping META MAPPING
      Exit 0 when every target of a ferry relocation-mapping.json serves the index digest of
      its source repository (plain http HEAD).

  Many small images (the "many" case):
  (the functions are in many_data.py)
  data.py gen-many DIR --images N --repos R --base-kib B --own-layers K --own-kib LO-HI
                   [--signed S]
      Writes one OCI image layout DIR/layout holding N single-platform images (an OCI manifest
      each, no index; ref names i0000, i0001, ...) and DIR/meta.json. Every image has a base
      layer of B KiB random bytes common to all images, then K layers of its own of LO..HI KiB
      (size drawn from a seeded generator), real tar+gzip as above. Image i belongs in
      repository many/m<i mod R> with tag t<i div R>. With --signed S, every S-th image (from
      image 0; 1 = all) has a cosign signature manifest (ref name i0000.sig, to be pushed as
      tag sha256-<hex>.sig beside it). Same arguments => same bytes.
  data.py many-list META [--signatures]
      "<layout ref>\t<repository>\t<tag>" per image (with --signatures: per signature).
  data.py many-curl-get META BASE OUTDIR
      curl config downloading every unique blob once, signatures' included (manifests by
      digest from /manifests/).
  data.py many-served META HOST PREFIX [--mapping FILE] [--signatures]
      Exit 0 when HOST serves every image under PREFIX/bench/<repository>:<tag> (PREFIX may be
      "") with its manifest digest (with --mapping: at the target that a ferry
      relocation-mapping.json gives for it instead; with --signatures, and no --mapping, also
      every signature tag).
  data.py tar-blob-bytes TAR   Bytes and count of the blobs/sha256/<hex> members of a tar.

  bytes and count also take the meta.json of gen-many, and then --no-signatures (the set
  without the signatures' blobs).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

PLATFORMS = [
    ("linux", "amd64", None),
    ("linux", "arm64", "v8"),
    ("linux", "arm", "v7"),
    ("linux", "ppc64le", None),
    ("linux", "s390x", None),
]
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MiB = 1 << 20

WORDS = (
    "ferry carries container images across an air gap byte for byte registry bundle layer "
    "manifest index digest platform export import blob tar gzip sha256 offline mirror "
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor"
).split()


def plat_str(p):
    os_, arch, var = p
    return f"{os_}/{arch}" + (f"/{var}" if var else "")


def text_bytes(rng, n):
    out = []
    size = 0
    line_no = 0
    while size < n:
        line = f"{line_no:08d} " + " ".join(rng.choices(WORDS, k=12)) + "\n"
        out.append(line)
        size += len(line)
        line_no += 1
    return "".join(out).encode()[:n]


def make_layer(seed, random_mib, text_mib):
    """Returns (gzip bytes, diff_id) of a tar with random.bin and notes.txt."""
    rng = random.Random(seed)
    payload = [("random.bin", rng.randbytes(random_mib * MiB))]
    if text_mib:
        payload.append(("notes.txt", text_bytes(rng, text_mib * MiB)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in payload:
            ti = tarfile.TarInfo(f"{seed}/{name}")
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 0
            tf.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    return gzip.compress(tar, compresslevel=0, mtime=0), diff_id


def canon(obj):
    return json.dumps(obj, indent=2, sort_keys=False).encode()


class Layout:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)

    def put(self, data):
        hexd = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.root, "blobs", "sha256", hexd)
        if not os.path.exists(path):
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        return "sha256:" + hexd, len(data)


def gen(args):
    plats = PLATFORMS[: args.platforms]
    repos = []
    for r in range(args.repos):
        name = f"r{r}"
        lay = Layout(os.path.join(args.dir, name))
        blobs = {}

        def add(data, mt, kind, platform):
            d, n = lay.put(data)
            b = blobs.setdefault(d, {"digest": d, "size": n, "mediaType": mt, "kind": kind,
                                     "platforms": []})
            if platform and platform not in b["platforms"]:
                b["platforms"].append(platform)
            return {"mediaType": mt, "digest": d, "size": n}

        key = f"{args.random_mib}+{args.text_mib}"
        shared = None
        manifests = []
        for p in plats:
            ps = plat_str(p)
            layer_descs, diff_ids = [], []
            for li in range(args.layers):
                if li == 0:
                    if shared is None:
                        data, diff = make_layer(f"{key}-{name}-shared", args.random_mib,
                                                args.text_mib)
                        shared = (data, diff)
                    data, diff = shared
                else:
                    data, diff = make_layer(f"{key}-{name}-{ps}-{li}", args.random_mib,
                                            args.text_mib)
                layer_descs.append(add(data, MT_LAYER, "layer", ps))
                diff_ids.append(diff)
                print(f"  {name} {ps} layer {li}: {layer_descs[-1]['digest'][:19]}… "
                      f"{layer_descs[-1]['size']} bytes", file=sys.stderr)
            cfg = {
                "created": "2024-01-01T00:00:00Z",
                "architecture": p[1],
                "os": p[0],
                **({"variant": p[2]} if p[2] else {}),
                "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": [{"created": "2024-01-01T00:00:00Z",
                             "created_by": f"ferry bench layer {i}"}
                            for i in range(len(diff_ids))],
            }
            cdesc = add(canon(cfg), MT_CONFIG, "config", ps)
            man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
                   "layers": layer_descs}
            mdesc = add(canon(man), MT_MANIFEST, "manifest", ps)
            platform = {"architecture": p[1], "os": p[0]}
            if p[2]:
                platform["variant"] = p[2]
            manifests.append({**mdesc, "platform": platform})
        idx = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}
        idesc = add(canon(idx), MT_INDEX, "index", None)
        top = {"schemaVersion": 2, "manifests": [
            {**idesc, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
        with open(os.path.join(lay.root, "index.json"), "wb") as f:
            f.write(canon(top))
        with open(os.path.join(lay.root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        repos.append({"name": name, "dir": lay.root, "tag": "v1", "index": idesc,
                      "blobs": list(blobs.values())})
    meta = {"repos": repos, "platforms": [plat_str(p) for p in plats],
            "unique_bytes": sum(b["size"] for r in repos for b in r["blobs"])}
    with open(os.path.join(args.dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def load(path):
    with open(path) as f:
        return json.load(f)


def plat_match(want, have):
    def norm(s):
        parts = s.split("/")
        if len(parts) == 2 and parts[1] == "arm64":
            parts.append("v8")
        if len(parts) == 2 and parts[1] == "arm":
            parts.append("v7")
        return parts
    return norm(want) == norm(have)


def cmd_bytes(args):
    meta = load(args.meta)
    if meta.get("kind") == "many":
        from many_data import many_blobs
        print(sum(b["size"] for b in many_blobs(meta, not args.no_signatures)))
        return
    total = 0
    for r in meta["repos"]:
        for b in r["blobs"]:
            if wanted(args, b):
                total += b["size"]
    print(total)


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def blob_path(r, b):
    return os.path.join(r["dir"], "blobs", "sha256", b["digest"].split(":", 1)[1])


def wanted(args, b):
    return args.platform is None or b["kind"] == "index" or any(
        plat_match(args.platform, p) for p in b["platforms"])


def cmd_curl_get(args):
    meta = load(args.meta)
    print("header = " + q("Accept: " + ", ".join([MT_INDEX, MT_MANIFEST])))
    for r in meta["repos"]:
        for b in r["blobs"]:
            if not wanted(args, b):
                continue
            ep = "manifests" if b["kind"] in ("index", "manifest") else "blobs"
            url = "%s/v2/bench/%s/%s/%s" % (args.base, r["name"], ep, b["digest"])
            print("url = " + q(url))
            print(f"output = {q(os.path.join(args.outdir, r['name'], b['digest']))}")


def cmd_curl_post(args):
    meta = load(args.meta)
    print('request = "POST"')
    print('write-out = "%{url} %header{location}\\n"')
    for r in meta["repos"]:
        for b in r["blobs"]:
            if b["kind"] in ("config", "layer"):
                url = "%s/v2/%s/bench/%s/blobs/uploads/" % (args.base, args.prefix, r["name"])
                print("url = " + q(url))
                print('output = "/dev/null"')


def cmd_put_template(args):
    meta = load(args.meta)
    for r in meta["repos"]:
        key = "%s/v2/%s/bench/%s/blobs/uploads/" % (args.base, args.prefix, r["name"])
        for b in r["blobs"]:
            if b["kind"] in ("config", "layer"):
                print("\t".join([key, b["digest"], blob_path(r, b)]))


def cmd_curl_manifests(args):
    meta = load(args.meta)
    first = True
    for r in meta["repos"]:
        order = [b for b in r["blobs"] if b["kind"] == "manifest"]
        order += [dict(b, tag=r["tag"]) for b in r["blobs"] if b["kind"] == "index"]
        for b in order:
            if not first:
                print("next")
            first = False
            ref = b.get("tag", b["digest"])
            url = "%s/v2/%s/bench/%s/manifests/%s" % (args.base, args.prefix, r["name"], ref)
            print("url = " + q(url))
            print(f"upload-file = {q(blob_path(r, b))}")
            print(f"header = {q('Content-Type: ' + b['mediaType'])}")
            print('write-out = "%{http_code} %{url}\\n"')
            print('output = "/dev/null"')


def cmd_check_mapping(args):
    """Every target named in a ferry relocation mapping serves the source's index digest."""
    import urllib.request
    meta = load(args.meta)
    want = {r["name"]: r["index"]["digest"] for r in meta["repos"]}
    with open(args.mapping) as f:
        mapping = json.load(f)
    if isinstance(mapping, list):  # tolerate [{"source":..,"target":..}] shapes
        mapping = {m.get("source") or m.get("from"): m.get("target") or m.get("to")
                   for m in mapping}
    seen = set()
    bad = []
    for src, dst in mapping.items():
        repo = src.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        if repo not in want:
            continue
        host, rest = dst.split("/", 1)
        name, ref = (rest.split("@", 1) if "@" in rest else rest.rsplit(":", 1))
        req = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{ref}", method="HEAD",
                                     headers={"Accept": f"{MT_INDEX}, {MT_MANIFEST}"})
        try:
            with urllib.request.urlopen(req) as resp:
                got = resp.headers.get("Docker-Content-Digest")
        except Exception as e:  # noqa: BLE001 - report any failure as a mismatch
            got = f"error {e}"
        if got != want[repo]:
            bad.append(f"{dst}: {got} (want {want[repo]})")
        seen.add(repo)
    missing = sorted(set(want) - seen)
    for line in bad + [f"no mapping entry for {m}" for m in missing]:
        print("check-mapping: " + line, file=sys.stderr)
    sys.exit(1 if bad or missing else 0)


def cmd_tar_blob_bytes(args):
    import re
    n = total = 0
    pat = re.compile(r"^(\./)?blobs/sha256/[0-9a-f]{64}$")
    with tarfile.open(args.tar, "r:") as tf:
        for m in tf:
            if m.isfile() and pat.match(m.name):
                n += 1
                total += m.size
    print(total, n)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("dir")
    g.add_argument("--repos", type=int, required=True)
    g.add_argument("--platforms", type=int, required=True)
    g.add_argument("--layers", type=int, required=True)
    g.add_argument("--random-mib", type=int, required=True)
    g.add_argument("--text-mib", type=int, required=True)
    b = sub.add_parser("bytes")
    b.add_argument("meta")
    b.add_argument("--platform")
    b.add_argument("--no-signatures", action="store_true")
    c = sub.add_parser("count")
    c.add_argument("meta")
    c.add_argument("--no-signatures", action="store_true")
    cg = sub.add_parser("curl-get")
    cg.add_argument("meta")
    cg.add_argument("base")
    cg.add_argument("outdir")
    cg.add_argument("--platform")
    cp = sub.add_parser("curl-post")
    cp.add_argument("meta")
    cp.add_argument("base")
    cp.add_argument("prefix")
    cu = sub.add_parser("put-template")
    cu.add_argument("meta")
    cu.add_argument("base")
    cu.add_argument("prefix")
    cm = sub.add_parser("curl-manifests")
    cm.add_argument("meta")
    cm.add_argument("base")
    cm.add_argument("prefix")
    cm2 = sub.add_parser("check-mapping")
    cm2.add_argument("meta")
    cm2.add_argument("mapping")
    gm = sub.add_parser("gen-many")
    gm.add_argument("dir")
    gm.add_argument("--images", type=int, required=True)
    gm.add_argument("--repos", type=int, required=True)
    gm.add_argument("--base-kib", type=int, required=True)
    gm.add_argument("--own-layers", type=int, required=True)
    gm.add_argument("--own-kib", required=True)
    gm.add_argument("--signed", type=int, default=0)
    ml = sub.add_parser("many-list")
    ml.add_argument("meta")
    ml.add_argument("--signatures", action="store_true")
    mc = sub.add_parser("many-curl-get")
    mc.add_argument("meta")
    mc.add_argument("base")
    mc.add_argument("outdir")
    ms = sub.add_parser("many-served")
    ms.add_argument("meta")
    ms.add_argument("host")
    ms.add_argument("prefix")
    ms.add_argument("--mapping")
    ms.add_argument("--signatures", action="store_true")
    tb = sub.add_parser("tar-blob-bytes")
    tb.add_argument("tar")
    a = ap.parse_args()
    if a.cmd.startswith("many-") or a.cmd == "gen-many":
        import many_data
        {"gen-many": many_data.gen_many, "many-list": many_data.cmd_many_list,
         "many-curl-get": many_data.cmd_many_curl_get,
         "many-served": many_data.cmd_many_served}[a.cmd](a)
    elif a.cmd == "gen":
        gen(a)
    elif a.cmd == "bytes":
        cmd_bytes(a)
    elif a.cmd == "count":
        m = load(a.meta)
        if m.get("kind") == "many":
            from many_data import many_blobs
            print(len(many_blobs(m, not a.no_signatures)))
        else:
            print(sum(len(r["blobs"]) for r in m["repos"]))
    elif a.cmd == "curl-get":
        cmd_curl_get(a)
    elif a.cmd == "curl-post":
        cmd_curl_post(a)
    elif a.cmd == "put-template":
        cmd_put_template(a)
    elif a.cmd == "check-mapping":
        cmd_check_mapping(a)
    elif a.cmd == "curl-manifests":
        cmd_curl_manifests(a)
    elif a.cmd == "tar-blob-bytes":
        cmd_tar_blob_bytes(a)


if __name__ == "__main__":
    main()
