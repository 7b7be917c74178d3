#!/usr/bin/env python3
"""Pull the non-model assets for the image-classification example out of PyPI wheels.

Each wheel is a zip file, so the files are read straight out of it: nothing is installed.

  labels       TIMM_WHEEL OUT.txt      1000 ImageNet-1k labels, one per line, in class-index order
                                       (timm/data/_info/imagenet_synsets.txt gives the order,
                                       imagenet_synset_to_lemma.txt the human-readable names)
  photos       SKIMAGE_WHEEL OUT_DIR   cat.jpg, coffee.jpg, rocket.jpg, motorcycle.jpg from
                                       skimage/data (re-encoded as baseline JPEG, quality 90),
                                       and cat.json = {"body": "<base64 of cat.jpg>"}
  onnxruntime  ORT_WHEEL OUT_DIR       lib/libonnxruntime.so.1.x.y from onnxruntime/capi, with the
                                       symlinks libonnxruntime.so.1 (its SONAME) and
                                       libonnxruntime.so, plus VERSION; then loads it to check it

Every output is written to a temporary name and renamed into place, so an interrupted run
never leaves a half-written file that a later run would mistake for a finished one.
"""

import argparse
import base64
import ctypes
import io
import json
import os
import re
import sys
import tempfile
import zipfile

# skimage/data file -> name of the photo we ship
PHOTOS = {
    "chelsea.png": "cat.jpg",
    "coffee.png": "coffee.jpg",
    "rocket.jpg": "rocket.jpg",
    "motorcycle_left.png": "motorcycle.jpg",
}
JPEG_QUALITY = 90


def write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def labels(wheel, out):
    with zipfile.ZipFile(wheel) as zf:
        synsets = zf.read("timm/data/_info/imagenet_synsets.txt").decode("utf-8").split()
        lemmas = dict(
            line.split("\t", 1)
            for line in zf.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode("utf-8").splitlines()
            if "\t" in line)
    if len(synsets) != 1000:
        raise SystemExit(f"expected 1000 ImageNet-1k synsets, found {len(synsets)}")
    names = [lemmas[s].strip() for s in synsets]
    write_atomic(out, ("\n".join(names) + "\n").encode("utf-8"))
    print(f"wrote {out}: {len(names)} labels ({names[0]!r} ... {names[-1]!r})")


def photos(wheel, out_dir):
    from PIL import Image

    with zipfile.ZipFile(wheel) as zf:
        for source, name in PHOTOS.items():
            img = Image.open(io.BytesIO(zf.read(f"skimage/data/{source}"))).convert("RGB")
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=JPEG_QUALITY)
            write_atomic(os.path.join(out_dir, name), buf.getvalue())
            print(f"wrote {os.path.join(out_dir, name)}: {img.width}x{img.height}, {buf.tell()} bytes")
    with open(os.path.join(out_dir, "cat.jpg"), "rb") as f:
        body = json.dumps({"body": base64.b64encode(f.read()).decode("ascii")})
    write_atomic(os.path.join(out_dir, "cat.json"), body.encode("ascii"))
    print(f"wrote {os.path.join(out_dir, 'cat.json')}: {len(body)} bytes")


def onnxruntime(wheel, out_dir):
    lib_dir = os.path.join(out_dir, "lib")
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if re.fullmatch(r"onnxruntime/capi/libonnxruntime\.so\.\d+\.\d+\.\d+", n)]
        if len(members) != 1:
            raise SystemExit(f"{wheel}: expected one onnxruntime/capi/libonnxruntime.so.X.Y.Z, found {members}")
        name = os.path.basename(members[0])
        version = name[len("libonnxruntime.so."):]
        path = os.path.join(lib_dir, name)
        write_atomic(path, zf.read(members[0]))
        os.chmod(path, 0o755)
    # libonnxruntime.so.1 is the SONAME the loader looks for; libonnxruntime.so is for the linker.
    for link, target in (("libonnxruntime.so.1", name), ("libonnxruntime.so", "libonnxruntime.so.1")):
        link_path = os.path.join(lib_dir, link)
        if os.path.lexists(link_path):
            os.unlink(link_path)
        os.symlink(target, link_path)
    for stale in os.listdir(lib_dir):   # a previous version's library, if the pin changed
        if stale.startswith("libonnxruntime.so.1.") and stale != name:
            os.unlink(os.path.join(lib_dir, stale))

    # Load it and ask for its version through the C API: OrtGetApiBase()->GetVersionString().
    lib = ctypes.CDLL(os.path.join(lib_dir, "libonnxruntime.so"))
    lib.OrtGetApiBase.restype = ctypes.POINTER(ctypes.c_void_p * 2)  # {GetApi, GetVersionString}
    get_version = ctypes.CFUNCTYPE(ctypes.c_char_p)(lib.OrtGetApiBase().contents[1])
    reported = get_version().decode()
    if reported != version:
        raise SystemExit(f"{path} reports version {reported}, expected {version}")

    write_atomic(os.path.join(out_dir, "VERSION"), f"{version}\n".encode())
    print(f"wrote {path} ({os.path.getsize(path)} bytes; loads, reports {reported}), "
          f"symlinks libonnxruntime.so.1 and libonnxruntime.so, and VERSION (from {os.path.basename(wheel)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for command, what in (("labels", "output .txt"), ("photos", "output folder"), ("onnxruntime", "output folder")):
        p = sub.add_parser(command)
        p.add_argument("wheel")
        p.add_argument("out", help=what)
    args = ap.parse_args()
    {"labels": labels, "photos": photos, "onnxruntime": onnxruntime}[args.command](args.wheel, args.out)


if __name__ == "__main__":
    sys.exit(main())
