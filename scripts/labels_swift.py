#!/usr/bin/env python3
"""Writes examples/classify/labels.swift from .cache/models/imagenet-labels.txt (made by setup-models.sh)."""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
labels = (root / ".cache/models/imagenet-labels.txt").read_text().splitlines()
if len(labels) != 1000:
    sys.exit(f"expected 1000 labels, found {len(labels)}")
lines = [
    "// ImageNet-1k class names in class-index order, generated from the timm wheel",
    "// (timm/data/_info/imagenet_synsets.txt + imagenet_synset_to_lemma.txt) by",
    "// scripts/setup-models.sh -> .cache/models/imagenet-labels.txt; regenerate with scripts/labels_swift.py.",
    "let imagenetLabels: [StaticString] = [",
    *[f"    {json.dumps(label)}," for label in labels],
    "]",
    "",
]
(root / "examples/classify/labels.swift").write_text("\n".join(lines))
