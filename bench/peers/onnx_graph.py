"""An ONNX graph as a frozen PyTorch module, from the node list bench/teacher.ts sends (JSON) and the
float weights on stdin. Covers the ops of the convolutional recognizers the project imports (Conv with
groups, PRelu, Relu, Add, Mul, BatchNormalization, Reshape, Flatten, Gemm, MatMul, GlobalAveragePool);
onnx2torch is not packaged for Debian and nothing may be downloaded at run time."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class OnnxGraph(nn.Module):
    def __init__(self, graph, blob):
        super().__init__()
        self.graph = graph
        flat = torch.frombuffer(bytearray(blob), dtype=torch.float32)
        self.consts = {}
        for name, f in graph["floats"].items():
            t = flat[f["offset"]: f["offset"] + f["length"]].clone().reshape(f["dims"])
            self.register_buffer("w%d" % len(self.consts), t)  # frozen: no gradients to weights
            self.consts[name] = t
        for name, i in graph["ints"].items():
            self.consts[name] = i["values"]
        unknown = {n["op"] for n in graph["nodes"]} - set(OPS)
        if unknown:
            raise SystemExit("onnx_graph.py: unsupported ops %s" % sorted(unknown))

    def forward(self, x):
        """x [N,S,S,3] RGB in [0,1] (as the tfjs side) -> [N,D]; the model's own input convention."""
        inp = self.graph["input"]
        x = x.permute(0, 3, 1, 2)
        if inp["channelOrder"] == "bgr":
            x = x.flip(1)
        env = {inp["name"]: (x * 255 - inp["mean"]) / inp["std"]}
        for n in self.graph["nodes"]:
            args = [env[i] if i in env else self.consts.get(i) for i in n["inputs"] if i != ""]
            env[n["outputs"][0]] = OPS[n["op"]](args, n["attrs"])
        return env[self.graph["output"]]


def _conv(a, at):
    x, w = a[0], a[1]
    b = a[2] if len(a) > 2 else None
    pads = at.get("pads") or [0, 0, 0, 0]
    if at.get("auto_pad") in ("SAME_UPPER", "SAME_LOWER"):
        kh, kw = w.shape[2], w.shape[3]
        pads = [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2]
    pt, pl, pb, pr = pads
    if pt != pb or pl != pr:
        x = F.pad(x, (pl, pr, pt, pb))
        pt = pl = 0
    return F.conv2d(x, w, b, tuple(at.get("strides") or [1, 1]), (pt, pl),
                    tuple(at.get("dilations") or [1, 1]), at.get("group") or 1)


def _prelu(a, at):
    x, s = a
    return F.prelu(x, s.reshape(-1)) if s.numel() == x.shape[1] else torch.where(x >= 0, x, x * s)


def _reshape(a, at):
    x, shape = a[0], list(a[1])
    if shape[0] in (1, -1, 0):  # the exported batch of 1: keep ours
        shape[0] = x.shape[0]
    return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)])


def _bn(a, at):
    x, g, b, m, v = a
    return F.batch_norm(x, m, v, g, b, False, 0.0, at.get("epsilon") or 1e-5)


def _gemm(a, at):
    x, w = a[0], a[1]
    if at.get("transB"):
        w = w.t()
    y = x @ w
    return y + a[2] if len(a) > 2 else y


OPS = {
    "Conv": _conv,
    "PRelu": _prelu,
    "Relu": lambda a, at: F.relu(a[0]),
    "Add": lambda a, at: a[0] + a[1],
    "Mul": lambda a, at: a[0] * a[1],
    "BatchNormalization": _bn,
    "Reshape": _reshape,
    "Flatten": lambda a, at: a[0].flatten(at.get("axis") or 1),
    "Gemm": _gemm,
    "MatMul": lambda a, at: a[0] @ a[1],
    "GlobalAveragePool": lambda a, at: a[0].mean((2, 3), keepdim=True),
}
