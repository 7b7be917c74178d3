#!/usr/bin/env python3
"""Image classification, same model, same photo, one intra-op thread, one run:
  1. the baseline a user would write: Pillow decode + numpy preprocess + onnxruntime (Python);
  2. the full `classify` call through a running Stratus gateway (decode + preprocess + infer + Wasm + HTTP).
Prints median milliseconds. Usage: inference.py URL MODEL PHOTO [N]   (PYTHONPATH=.cache/pylib)"""
import http.client
import statistics
import sys
import time
import urllib.parse

import numpy as np
import onnxruntime as ort
from PIL import Image

url, model, photo = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 50
data = open(photo, "rb").read()

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.add_session_config_entry("session.intra_op.allow_spinning", "0")
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def preprocess(raw):
    import io
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    w, h = image.size
    s = min(w, h)
    image = image.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((224, 224), Image.BILINEAR)
    x = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None]


x = preprocess(data)
session.run(None, {"input": x})
full, bare = [], []
for _ in range(n):
    t = time.perf_counter()
    session.run(None, {"input": preprocess(data)})
    full.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    session.run(None, {"input": x})
    bare.append((time.perf_counter() - t) * 1000)

target = urllib.parse.urlsplit(url)
connection = http.client.HTTPConnection(target.hostname, target.port)
calls = []
for i in range(n + 1):
    t = time.perf_counter()
    connection.request("POST", target.path, body=data, headers={"Content-Type": "image/jpeg"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"classify answered {response.status}: {body!r}")
    if i > 0:
        calls.append((time.perf_counter() - t) * 1000)

py_full, py_bare, gateway = statistics.median(full), statistics.median(bare), statistics.median(calls)
print(f"python   decode+preprocess+infer median {py_full:.2f} ms   infer median {py_bare:.2f} ms")
print(f"gateway  classify call (HTTP + Wasm + decode + infer) median {gateway:.2f} ms")
print(f"ratio    gateway call / python decode+infer {gateway / py_full:.2f}")
