"""Python peer of the audit's attacker embedding (src/loaders/embedders.ts), for `npm run bench -- embed`.

The same model file as ours, in the runtime Python users would reach for: an ONNX model through
onnxruntime (its session at `threads` intra-op threads), a bundled tfjs graph model through PyTorch
(tfjs_graph.py interprets its model.json and weights; TensorFlow is not installed). Reads the
bench's images from stdin (uint8 [N,112,112,3] RGB, the same bytes ours embeds), converts them
as the embedder does (channel order, (x - mean) / std, bilinear resize to the model's side),
embeds them in forward batches of `batch` (one image per run where the ONNX batch is fixed at 1),
and prints one JSON line: img/s of the timed pass, peak RSS, and the first image's embedding
(the bench compares it with ours).
"""
import json, resource, sys, time
import numpy as np

args = json.loads(sys.argv[1])
N, S, B, T = args["images"], 112, args["batch"], args["threads"]
inp = args["input"]
pixels = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(N, S, S, 3)


def prepare(x):
    """uint8 [n,112,112,3] RGB -> float32 [n,3,112,112] in the model's convention (numpy)."""
    x = x.astype(np.float32)
    if inp["channelOrder"] == "bgr":
        x = x[..., ::-1]
    return np.ascontiguousarray(((x - inp["mean"]) / inp["std"]).transpose(0, 3, 1, 2))


if args["runtime"] == "onnxruntime":
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = T
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(args["file"], so, providers=["CPUExecutionProvider"])
    meta = sess.get_inputs()[0]
    fixed = isinstance(meta.shape[0], int) and meta.shape[0] > 0
    step = 1 if fixed else B
    runtime = "onnxruntime " + ort.__version__

    def embed(x):
        xs = prepare(x)
        outs = [sess.run(None, {meta.name: xs[i:i + step]})[0] for i in range(0, len(xs), step)]
        return np.concatenate(outs).reshape(len(xs), -1)
else:
    import torch
    from tfjs_graph import TfjsGraph, resize_bilinear_legacy

    torch.set_num_threads(T)
    net = TfjsGraph(args["folder"], args["output"]).eval()
    side = inp["size"]
    runtime = "pytorch " + torch.__version__ + " (tfjs graph rebuilt by tfjs_graph.py)"

    def embed(x):
        out = []
        with torch.no_grad():
            for i in range(0, len(x), B):
                # as the embedder: raw RGB, resized to the model's side, then (x - mean) / std
                t = torch.from_numpy(x[i:i + B].astype(np.float32)).permute(0, 3, 1, 2)
                if inp["channelOrder"] == "bgr":
                    t = t.flip(1)
                if side != S:
                    t = resize_bilinear_legacy(t, side)
                y = net((t - inp["mean"]) / inp["std"])
                out.append(y.reshape(y.shape[0], -1).numpy())
        return np.concatenate(out)

first = embed(pixels[:B])  # warm-up, and the embedding compared with ours
t0 = time.perf_counter()
c0 = time.process_time()
embed(pixels)
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({
    "imgPerSec": N / dt,
    "stepMs": 1000 * dt,
    "cpuMsPerStep": 1000 * cpu,
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "first": [float(v) for v in first[0]],
    "runtime": runtime,
    "threads": T,
}))
