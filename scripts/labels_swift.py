#!/usr/bin/env python3
"""Writes examples/classify/labels.swift from .cache/models/imagenet-labels.txt (made by setup-models.sh)."""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
labels = (root / ".cache/models/imagenet-labels.txt").read_text().splitlines()
if len(labels) != 1000 or any('"""' in label or "\\" in label for label in labels):
    sys.exit(f"expected 1000 plain labels, found {len(labels)}")
lines = [
    "// ImageNet-1k class names in class-index order, one per line, generated from the timm wheel",
    "// (timm/data/_info/imagenet_synsets.txt + imagenet_synset_to_lemma.txt) by",
    "// scripts/setup-models.sh -> .cache/models/imagenet-labels.txt; regenerate with scripts/labels_swift.py.",
    'let imagenetLabels: StaticString = """',
    *labels,
    '"""',
    "",
]
(root / "examples/classify/labels.swift").write_text("\n".join(lines))
