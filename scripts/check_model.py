#!/usr/bin/env python3
"""Classify the test photos with the converted EfficientNet-Lite0 model and time it.

Runs .cache/models/efficientnet-lite0.onnx with onnxruntime (CPU, 1 intra-op thread) on
.cache/models/photos/{cat,coffee,rocket,motorcycle}.jpg, prints the top-3 labels with their
probabilities and the median latency of 20 runs, and exits non-zero when the cat photo is not
classified as a cat or the coffee photo as espresso.

Preprocessing (the reference a non-Python host must reproduce; no library resize is used):
  1. decode to 8-bit RGB (W x H);
  2. crop the centred square of side S = min(W, H), top-left at ((W - S) // 2, (H - S) // 2);
  3. resize S x S -> 224 x 224 with plain bilinear interpolation (no antialiasing):
     output pixel i (0..223) samples source coordinate c = (i + 0.5) * S / 224 - 0.5, clamped to
     [0, S - 1]; i0 = floor(c), i1 = min(i0 + 1, S - 1), weight f = c - i0; rows first, then
     columns (the operation is separable, so the order only changes float rounding);
  4. x = (value - 127) / 128 as float32, laid out NCHW [1, 3, 224, 224], channels R, G, B.
The model outputs softmax probabilities, so no further normalisation is needed.

Usage: check_model.py [CACHE_DIR]   (default: .cache next to scripts/)
"""

import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

SIZE = 224
RUNS = 20
PHOTOS = ["cat", "coffee", "rocket", "motorcycle"]
# photo -> labels (imagenet-labels.txt lines) accepted as its top-1 class
EXPECTED = {
    "cat": {"tabby, tabby cat", "tiger cat", "Egyptian cat"},
    "coffee": {"espresso"},
}


def resize_axis_weights(src, dst):
    """Source indices and weights of plain bilinear resampling along one axis."""
    c = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
    i0 = np.floor(c).astype(np.int64)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, (c - i0).astype(np.float32)


def preprocess(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)   # H x W x 3
    h, w, _ = rgb.shape
    s = min(w, h)
    y0, x0 = (h - s) // 2, (w - s) // 2
    square = rgb[y0:y0 + s, x0:x0 + s]
    i0, i1, f = resize_axis_weights(s, SIZE)
    rows = square[i0] * (1 - f)[:, None, None] + square[i1] * f[:, None, None]        # 224 x S x 3
    img = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i1] * f[None, :, None]       # 224 x 224 x 3
    x = (img - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)     # 1 x 3 x 224 x 224


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
    models = os.path.join(cache, "models")
    with open(os.path.join(models, "imagenet-labels.txt"), encoding="utf-8") as f:
        labels = f.read().splitlines()
    assert len(labels) == 1000, len(labels)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(os.path.join(models, "efficientnet-lite0.onnx"), opts,
                                   providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    print(f"onnxruntime {ort.__version__}; input {inp.name} {inp.type} {inp.shape}; "
          f"output {out.name} {out.type} {out.shape}")

    failures = []
    for name in PHOTOS:
        x = preprocess(os.path.join(models, "photos", f"{name}.jpg"))
        probs = session.run([out.name], {inp.name: x})[0][0]
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            session.run([out.name], {inp.name: x})
            times.append((time.perf_counter() - t) * 1000)
        top = np.argsort(-probs)[:3]
        print(f"{name + '.jpg':15} " + " | ".join(f"{labels[i]} {probs[i] * 100:.1f}%" for i in top)
              + f"   (median {statistics.median(times):.1f} ms over {RUNS} runs)")
        if name in EXPECTED and labels[top[0]] not in EXPECTED[name]:
            failures.append(f"{name}.jpg: top-1 is {labels[top[0]]!r}, expected one of {sorted(EXPECTED[name])}")

    for failure in failures:
        print(f"FAIL {failure}")
    print("model check:", "failed" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
