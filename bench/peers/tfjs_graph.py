"""A tfjs graph model (model.json + weight shards, as in assets/models/<name>/) as a frozen PyTorch
module, for `npm run bench -- embed`: the same file the project loads, run by PyTorch. Reads the
weights manifest (float32, float16- and uint8/uint16-quantized) and interprets the node list in
NCHW. Covers the ops of the bundled attackers (faceres, mobileface): Conv2D and
DepthwiseConv2dNative (SAME/VALID/EXPLICIT padding), Pad, Add/AddV2/Sub/Mul/Maximum/Minimum, Relu,
Sigmoid, Softmax, Mean, MatMul, _FusedMatMul (BiasAdd, Relu), Reshape, Identity. Nothing is
downloaded and no TensorFlow is needed."""
import base64, json, math, os
import numpy as np
import torch
import torch.nn.functional as F


def _s(attr, key, default=None):
    a = attr.get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    return default


def _read_weights(folder, manifest):
    blob = b"".join(open(os.path.join(folder, p), "rb").read() for g in manifest for p in g["paths"])
    out, off = {}, 0
    for g in manifest:
        for w in g["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                qd = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}[q["dtype"]]
                raw = np.frombuffer(blob, qd, n, off)
                off += n * np.dtype(qd).itemsize
                vals = raw.astype(np.float32) if q["dtype"] == "float16" else raw * q["scale"] + q["min"]
            else:
                dt = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                vals = np.frombuffer(blob, dt, n, off)
                off += n * 4
            out[w["name"]] = np.array(vals).reshape(w["shape"])
    return out


def _same_pads(size, k, s, d):
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class TfjsGraph(torch.nn.Module):
    """model.json -> frozen module; forward(x [N,C,H,W]) -> the tensor of `output`."""

    def __init__(self, folder, output):
        super().__init__()
        j = json.load(open(os.path.join(folder, "model.json")))
        self.nodes = [n for n in j["modelTopology"]["node"]]
        self.output = output
        w = _read_weights(folder, j["weightsManifest"])
        self.consts = {}
        for n in self.nodes:
            if n["op"] != "Const":
                continue
            v = w[n["name"]]
            # filters to PyTorch's layouts once, here, rather than per call
            self.consts[n["name"]] = torch.from_numpy(v.copy()) if v.dtype == np.float32 else v
        self.convs = {}
        for n in self.nodes:
            if n["op"] == "Conv2D":
                f = self.consts[n["input"][1]]
                self.convs[n["name"]] = f.permute(3, 2, 0, 1).contiguous()  # [KH,KW,I,O] -> [O,I,KH,KW]
            elif n["op"] == "DepthwiseConv2dNative":
                f = self.consts[n["input"][1]]
                kh, kw, c, m = f.shape
                self.convs[n["name"]] = f.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw).contiguous()
        unknown = {n["op"] for n in self.nodes} - set(OPS) - {"Const", "Placeholder"}
        if unknown:
            raise SystemExit("tfjs_graph.py: unsupported ops %s" % sorted(unknown))

    def forward(self, x):
        env = {}
        for n in self.nodes:
            op = n["op"]
            if op == "Const":
                continue
            if op == "Placeholder":
                env[n["name"]] = x
                continue
            args = [env[i] if i in env else self.consts[i] for i in n.get("input", []) if not i.startswith("^")]
            env[n["name"]] = OPS[op](self, n, args, n.get("attr", {}))
            if n["name"] == self.output:
                return env[n["name"]]
        raise SystemExit("tfjs_graph.py: no node %s" % self.output)


def _nchw_const(c, ref):
    """A [C] (NHWC's last axis) constant against a 4-D NCHW tensor broadcasts over axis 1."""
    if isinstance(c, torch.Tensor) and c.dim() == 1 and c.numel() > 1 and ref.dim() == 4:
        return c.reshape(1, -1, 1, 1)
    return c


def _binary(fn):
    def run(g, n, a, at):
        x, y = a
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            y = _nchw_const(y, x)
        elif isinstance(y, torch.Tensor) and y.dim() == 4:
            x = _nchw_const(x, y)
        return fn(x, y)
    return run


def _conv(g, n, a, at):
    x = a[0]
    w = g.convs[n["name"]]
    _, sh, sw, _ = _s(at, "strides", [1, 1, 1, 1])
    _, dh, dw, _ = _s(at, "dilations", [1, 1, 1, 1])
    pad = _s(at, "padding", "VALID")
    kh, kw = w.shape[2], w.shape[3]
    if pad == "SAME":
        t, b = _same_pads(x.shape[2], kh, sh, dh)
        l, r = _same_pads(x.shape[3], kw, sw, dw)
        x = F.pad(x, (l, r, t, b))
    elif pad == "EXPLICIT":
        e = _s(at, "explicit_paddings")
        x = F.pad(x, (e[4], e[5], e[2], e[3]))
    groups = x.shape[1] if n["op"] == "DepthwiseConv2dNative" else 1
    return F.conv2d(x, w, None, (sh, sw), 0, (dh, dw), groups)


def _pad(g, n, a, at):
    x, p = a[0], np.asarray(a[1]).reshape(-1, 2)
    if x.dim() == 4:  # NHWC paddings on an NCHW tensor
        return F.pad(x, (int(p[2][0]), int(p[2][1]), int(p[1][0]), int(p[1][1]), int(p[3][0]), int(p[3][1])))
    flat = []
    for lo, hi in p[::-1]:
        flat += [int(lo), int(hi)]
    return F.pad(x, tuple(flat))


def _mean(g, n, a, at):
    x, axes = a[0], [int(v) for v in np.asarray(a[1]).reshape(-1)]
    if x.dim() == 4:
        axes = [{0: 0, 1: 2, 2: 3, 3: 1}[v % 4] for v in axes]
    return x.mean(axes, keepdim=bool(_s(at, "keep_dims", False)))


def _matmul(g, n, a, at):
    x, w = a[0], a[1]
    if _s(at, "transpose_a", False):
        x = x.t()
    if _s(at, "transpose_b", False):
        w = w.t()
    y = x @ w
    for i, f in enumerate(_s(at, "fused_ops", []) or []):
        if f == "BiasAdd":
            y = y + a[2 + i]
        elif f == "Relu":
            y = F.relu(y)
        else:
            raise SystemExit("tfjs_graph.py: unsupported fused op %s" % f)
    return y


def _reshape(g, n, a, at):
    x, shape = a[0], [int(v) for v in np.asarray(a[1]).reshape(-1)]
    if x.dim() == 4:
        x = x.permute(0, 2, 3, 1)  # flatten in NHWC order, as the graph does
    shape[0] = x.shape[0] if shape[0] in (-1, 1) else shape[0]
    return x.reshape(shape)


OPS = {
    "Conv2D": _conv,
    "DepthwiseConv2dNative": _conv,
    "Pad": _pad,
    "Add": _binary(lambda x, y: x + y),
    "AddV2": _binary(lambda x, y: x + y),
    "Sub": _binary(lambda x, y: x - y),
    "Mul": _binary(lambda x, y: x * y),
    "Maximum": _binary(lambda x, y: torch.maximum(x, torch.as_tensor(y))),
    "Minimum": _binary(lambda x, y: torch.minimum(x, torch.as_tensor(y))),
    "Relu": lambda g, n, a, at: F.relu(a[0]),
    "Sigmoid": lambda g, n, a, at: torch.sigmoid(a[0]),
    "Softmax": lambda g, n, a, at: torch.softmax(a[0], -1),
    "Mean": _mean,
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
    "Reshape": _reshape,
    "Identity": lambda g, n, a, at: a[0],
}


def resize_bilinear_legacy(x, size):
    """tf.image.resizeBilinear(x, size, alignCorners=false) (TF's legacy sampling: src = dst·in/out,
    no half-pixel shift), x [N,C,H,W]."""
    def axis(n_in, n_out):
        src = torch.arange(n_out, dtype=torch.float32) * (n_in / n_out)
        i0 = src.floor().long().clamp(max=n_in - 1)
        i1 = (i0 + 1).clamp(max=n_in - 1)
        return i0, i1, src - i0.float()
    y0, y1, fy = axis(x.shape[2], size)
    x0, x1, fx = axis(x.shape[3], size)
    top = x[:, :, y0, :] * (1 - fy)[:, None] + x[:, :, y1, :] * fy[:, None]
    return top[:, :, :, x0] * (1 - fx) + top[:, :, :, x1] * fx
