#!/usr/bin/env python3
"""Classify the test photos with the converted EfficientNet-Lite0 model and time it.

Runs .cache/models/efficientnet-lite0.onnx with onnxruntime (CPU, 1 intra-op thread) on
.cache/models/photos/{cat,coffee,rocket,motorcycle}.jpg, prints the top-3 labels with their
probabilities and the median latency of 20 runs, and exits non-zero when the cat photo is not
classified as a cat or the coffee photo as espresso. With --json it prints instead, for every
photo, the top-5 as {"photo": [{"index": I, "label": L, "probability": P}, ...]}: the reference
the classify demo's answers are tested against.

The transform is EfficientNet-Lite's own evaluation transform (TensorFlow's
efficientnet/lite preprocessing, `_decode_and_center_crop` with CROP_PADDING 32), which the
classify demo asks the host for (`ImageTensorSpec(crop: 0.875)`):
  1. decode to 8-bit RGB (W x H);
  2. crop the centred square of side S = int(224 / (224 + 32) * min(W, H)) (87.5 %, truncated),
     top-left at ((W - S + 1) // 2, (H - S + 1) // 2);
  3. resize S x S -> 224 x 224 with bilinear filtering: Pillow's Image.resize(BILINEAR), which is
     antialiased when it shrinks (a triangle filter stretched over the source area each output
     pixel covers), as the host's resampler is;
  4. x = (value - 127) / 128 as float32, laid out NCHW [1, 3, 224, 224], channels R, G, B.
The model outputs softmax probabilities, so no further normalisation is needed.

Usage: check_model.py [--json] [CACHE_DIR]   (default: .cache next to scripts/)
"""

import json
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


CROP = SIZE / (SIZE + 32)   # 0.875


def preprocess(path):
    image = Image.open(path).convert("RGB")
    w, h = image.size
    s = int(CROP * min(w, h))
    x0, y0 = (w - s + 1) // 2, (h - s + 1) // 2
    square = image.crop((x0, y0, x0 + s, y0 + s)).resize((SIZE, SIZE), Image.BILINEAR)
    x = (np.asarray(square, dtype=np.float32) - 127.0) / 128.0                       # 224 x 224 x 3
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)     # 1 x 3 x 224 x 224


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    as_json = len(args) != len(sys.argv) - 1
    cache = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
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
    if as_json:
        reference = {}
        for name in PHOTOS:
            probs = session.run([out.name], {inp.name: preprocess(os.path.join(models, "photos", f"{name}.jpg"))})[0][0]
            reference[name] = [{"index": int(i), "label": labels[i], "probability": float(probs[i])} for i in np.argsort(-probs)[:5]]
        print(json.dumps(reference))
        return 0
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
