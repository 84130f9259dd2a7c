#!/usr/bin/env python3
"""Writes the small committed OCI layouts under fixtures/ (deterministic: same bytes every run).

fixtures/multiarch  OCI index, 3 platforms (linux/amd64, linux/arm64/v8, linux/arm/v7), a shared base layer
fixtures/single     one OCI image manifest (linux/amd64)
fixtures/artifact   an OCI artifact with an unknown config media type (carried, never interpreted)
"""
import gzip, hashlib, io, json, os, shutil, sys, tarfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def det_bytes(seed: str, n: int) -> bytes:
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def layer(seed: str, size: int):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        data = det_bytes(seed, size)
        ti = tarfile.TarInfo(f"data/{seed}.bin")
        ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
        t.addfile(ti, io.BytesIO(data))
    raw = bio.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as g:
        g.write(raw)
    return gz.getvalue(), "sha256:" + hashlib.sha256(raw).hexdigest()


class Layout:
    def __init__(self, name):
        self.dir = os.path.join(ROOT, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"))

    def put(self, b: bytes):
        d = hashlib.sha256(b).hexdigest()
        with open(os.path.join(self.dir, "blobs", "sha256", d), "wb") as f:
            f.write(b)
        return {"digest": "sha256:" + d, "size": len(b)}

    def finish(self, desc, media_type, tag):
        desc = dict(desc, mediaType=media_type, annotations={"org.opencontainers.image.ref.name": tag})
        idx = {"schemaVersion": 2, "manifests": [desc]}
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump(idx, f, indent=2)
        with open(os.path.join(self.dir, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')


def js(o) -> bytes:
    return json.dumps(o, separators=(",", ":"), sort_keys=True).encode()


def image(lay, platform, layers):
    os_, arch, *var = platform.split("/")
    descs, diffs = [], []
    for gz, diff in layers:
        descs.append(dict(lay.put(gz), mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
        diffs.append(diff)
    cfg = {"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": diffs}}
    if var:
        cfg["variant"] = var[0]
    c = dict(lay.put(js(cfg)), mediaType="application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": descs}
    return lay.put(js(m))


def main():
    base = layer("base", 4096)
    lay = Layout("multiarch")
    manifests = []
    for p in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]:
        d = image(lay, p, [base, layer(p.replace("/", "-"), 2048)])
        os_, arch, *var = p.split("/")
        plat = {"os": os_, "architecture": arch}
        if var:
            plat["variant"] = var[0]
        manifests.append(dict(d, mediaType="application/vnd.oci.image.manifest.v1+json", platform=plat))
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    lay.finish(lay.put(js(idx)), "application/vnd.oci.image.index.v1+json", "v1")

    lay = Layout("single")
    lay.finish(image(lay, "linux/amd64", [base, layer("single", 1024)]), "application/vnd.oci.image.manifest.v1+json", "v1")

    lay = Layout("artifact")
    cfg = dict(lay.put(b"{}"), mediaType="application/vnd.example.unknown.config.v1+json")
    blob = dict(lay.put(det_bytes("chart", 512)), mediaType="application/vnd.example.chart.layer.v1.tar")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "artifactType": "application/vnd.example.chart", "config": cfg, "layers": [blob]}
    lay.finish(lay.put(js(m)), "application/vnd.oci.image.manifest.v1+json", "v1")
    print("fixtures written to", os.path.normpath(ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
