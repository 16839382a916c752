"""Darknet `.cfg` + `.weights` (the tiny YOLOs the packages ship) as an ONNX graph, built
in memory from the verified bytes so the detectors run on onnxruntime.

Only the layers those files use are known: convolutional (batch norm folded into the
weights, leaky or linear), maxpool, route (with `groups`/`group_id`: a channel slice),
upsample and yolo. Anything else raises ValueError naming it. The graph's outputs are
the raw maps feeding each [yolo] layer (1, anchors * (5 + classes), h, w), decoded by the
caller (`yolo.decode_maps`), so the graph holds only what benefits from onnxruntime.
Input: 'image', NCHW RGB in 0..1 of any size divisible by 32 (batch, height and width
are free).

Darknet's own arithmetic, kept so the detections equal cv2.dnn's on the same files:
a maxpool pads `size - 1` on the right and bottom only (YOLOv3-tiny's stride-1 pool keeps
13x13); batch norm divides by sqrt(variance + 1e-5) as OpenCV's importer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_OPSET = 13
BN_EPS = 1e-5


@dataclass
class YoloHead:
    output: str  # graph output name
    anchors: list[tuple[float, float]]  # the masked ones, in input pixels
    scale_xy: float
    classes: int


@dataclass
class DarknetGraph:
    model: onnx.ModelProto
    heads: list[YoloHead] = field(default_factory=list)


def parse_cfg(text: str) -> list[dict[str, str]]:
    """The cfg's sections in order, each a dict with its options and 'type'."""
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    return sections


def convert(cfg_text: str, weights: bytes) -> DarknetGraph:
    """The ONNX graph of a Darknet network (see the module docstring)."""
    sections = parse_cfg(cfg_text)
    if not sections or sections[0]["type"] not in ("net", "network"):
        raise ValueError("a Darknet cfg starts with [net]")
    major, minor = np.frombuffer(weights, np.int32, 2)
    offset = 20 if major * 10 + minor >= 2 else 16  # version (3 x int32) + images seen
    data = np.frombuffer(weights, np.float32, offset=offset)
    read = 0

    def take(count: int) -> np.ndarray:
        nonlocal read
        if read + count > data.size:
            raise ValueError("the weights file is shorter than its cfg needs")
        read += count
        return data[read - count : read]

    nodes, inits, outputs, heads = [], [], [], []
    names: list[str] = []  # each layer's output tensor
    widths: list[int] = []  # each layer's channels
    current, channels = "image", int(sections[0].get("channels", 3))

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    for i, sec in enumerate(sections[1:]):
        kind, out = sec["type"], f"l{i}"
        if kind == "convolutional":
            filters, size = int(sec["filters"]), int(sec["size"])
            stride, pad = int(sec.get("stride", 1)), size // 2 if int(sec.get("pad", 0)) else 0
            if int(sec.get("groups", 1)) != 1:
                raise ValueError("grouped Darknet convolutions are not supported")
            if int(sec.get("batch_normalize", 0)):
                bias, scale, mean, var = (take(filters) for _ in range(4))
                kernel = take(filters * channels * size * size).reshape(
                    filters, channels, size, size
                )
                factor = scale / np.sqrt(var + BN_EPS)
                kernel, bias = kernel * factor[:, None, None, None], bias - mean * factor
            else:
                bias = take(filters)
                kernel = take(filters * channels * size * size).reshape(
                    filters, channels, size, size
                )
            w, b = const(f"{out}_w", kernel.astype(np.float32)), const(f"{out}_b", bias)
            activation = sec.get("activation", "linear")
            conv = out if activation == "linear" else f"{out}_conv"
            nodes.append(
                helper.make_node(
                    "Conv", [current, w, b], [conv], kernel_shape=[size, size],
                    strides=[stride, stride], pads=[pad] * 4,
                )
            )  # fmt: skip
            if activation == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [conv], [out], alpha=0.1))
            elif activation != "linear":
                raise ValueError(f"Darknet activation {activation!r} is not supported")
            channels = filters
        elif kind == "maxpool":
            size, stride = int(sec["size"]), int(sec.get("stride", 1))
            extra = int(sec.get("padding", size - 1))
            before, after = extra // 2, extra - extra // 2
            nodes.append(
                helper.make_node(
                    "MaxPool", [current], [out], kernel_shape=[size, size],
                    strides=[stride, stride], pads=[before, before, after, after],
                )
            )  # fmt: skip
        elif kind == "route":
            sources = [int(v) for v in sec["layers"].split(",")]
            sources = [s if s >= 0 else i + s for s in sources]
            if len(sources) == 1 and int(sec.get("groups", 1)) > 1:
                groups, group = int(sec["groups"]), int(sec.get("group_id", 0))
                part = widths[sources[0]] // groups
                starts, ends = (
                    const(f"{out}_s", np.array([group * part])),
                    const(f"{out}_e", np.array([(group + 1) * part])),
                )
                axes = const(f"{out}_a", np.array([1]))
                nodes.append(
                    helper.make_node("Slice", [names[sources[0]], starts, ends, axes], [out])
                )
                channels = part
            elif len(sources) == 1:
                out, channels = names[sources[0]], widths[sources[0]]
            else:
                nodes.append(helper.make_node("Concat", [names[s] for s in sources], [out], axis=1))
                channels = sum(widths[s] for s in sources)
        elif kind == "upsample":
            step = float(sec.get("stride", 2))
            scales = const(f"{out}_scales", np.array([1, 1, step, step], np.float32))
            nodes.append(helper.make_node("Resize", [current, "", scales], [out], mode="nearest"))
        elif kind == "yolo":
            mask = [int(v) for v in sec["mask"].split(",")]
            values = [float(v) for v in sec["anchors"].split(",")]
            pairs = list(zip(values[::2], values[1::2], strict=True))
            heads.append(
                YoloHead(
                    current, [pairs[m] for m in mask], float(sec.get("scale_x_y", 1)),
                    int(sec["classes"]),
                )
            )  # fmt: skip
            outputs.append(current)
            out = current  # a yolo layer changes nothing in the graph
        else:
            raise ValueError(f"Darknet layer [{kind}] is not supported")
        names.append(out)
        widths.append(channels)
        current = out
    if read != data.size:
        raise ValueError(f"the weights file has {data.size - read} values its cfg does not use")
    free: list[str | int | None] = ["batch", 3, "height", "width"]
    graph = helper.make_graph(
        nodes,
        "darknet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, free)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 8
    return DarknetGraph(model, heads)
