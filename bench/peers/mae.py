"""PyTorch peer of the train-mae step (src/train/mae-step.ts), for `npm run bench -- mae|irm`.

Same network as src/models/mae (pre-norm ViT blocks, LayerNorm eps 1e-6, tanh-GELU, fixed 2-D
sin-cos positions with a zero cls row, cls token, light decoder with mask tokens, per-patch linear
prediction), inputs normalised (x-0.5)/0.5, masked-patch MSE over removed patches, and with `irm`
the IRM term (KL between the row-softmaxed cosine relations of the real and reconstructed batch,
through the frozen ONNX teacher rebuilt by onnx_graph.py, gradients to its input only); AdamW
with train-mae's settings, no decay on 1-D parameters and tokens, global-norm clipping. PyTorch
idioms where they do not change the maths: q, k, v as one fused Linear (as timm), masking by
argsort + gather (as facebookresearch/mae). Prints one JSON line.
"""
import json, math, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from timing import time_steps

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
M = args["model"]
S, P, D, DEPTH, H = M["imageSize"], M["patchSize"], M["dim"], M["depth"], M["heads"]
E, DDEPTH, DH, RATIO = M["decoderDim"], M["decoderDepth"], M["decoderHeads"], M["mlpRatio"]
if M.get("normPixLoss"):
    raise SystemExit("mae.py: normPixLoss is not mirrored")
B, MASK = args["batch"], args["maskRatio"]
G = S // P
L = G * G
PD = P * P * 3
KEEP = max(1, int(math.floor(L * (1 - MASK))))
IRM = args.get("irm")


def sincos(dim):
    """[1, 1+L, dim]: row 0 (cls) zeros; MAE's get_2d_sincos_pos_embed (w coordinate first)."""
    out = torch.zeros(1 + L, dim)
    q = dim // 4
    om = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    for i in range(G):
        for j in range(G):
            r = 1 + i * G + j
            for half, pos in enumerate((j, i)):
                a = pos * om
                out[r, half * dim // 2: half * dim // 2 + q] = torch.sin(a).float()
                out[r, half * dim // 2 + q: half * dim // 2 + 2 * q] = torch.cos(a).float()
    return out.unsqueeze(0)


def linear(i, o):
    m = nn.Linear(i, o)
    nn.init.xavier_uniform_(m.weight)
    nn.init.zeros_(m.bias)
    return m


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.qkv = linear(d, 3 * d)
        self.proj = linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = linear(d, int(round(d * RATIO)))
        self.fc2 = linear(int(round(d * RATIO)), d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        att = (q * (d // self.h) ** -0.5 @ k.transpose(-2, -1)).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


def patchify(x):
    """[N,S,S,3] -> [N,L,P*P*3] (row-major patches, pixels (py, px, c) as src/models/vit/patch.ts)."""
    b = x.shape[0]
    return x.reshape(b, G, P, G, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, L, PD)


def unpatchify(x):
    b = x.shape[0]
    return x.reshape(b, G, G, P, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, S, S, 3)


class Mae(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = linear(PD, D)
        self.cls_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.register_buffer("pos_embed", sincos(D))
        self.blocks = nn.ModuleList([Block(D, H) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.decoder_embed = linear(D, E)
        self.mask_token = nn.Parameter(torch.randn(1, 1, E) * 0.02)
        self.register_buffer("decoder_pos_embed", sincos(E))
        self.decoder_blocks = nn.ModuleList([Block(E, DH) for _ in range(DDEPTH)])
        self.decoder_norm = nn.LayerNorm(E, eps=1e-6)
        self.decoder_pred = linear(E, PD)

    def forward(self, imgs):
        """imgs [N,S,S,3] in [0,1] -> pred, target [N,L,PD], mask [N,L] (1 = removed)."""
        b = imgs.shape[0]
        target = patchify((imgs - 0.5) / 0.5)
        x = self.patch_embed(target) + self.pos_embed[:, 1:]
        noise = torch.rand(b, L)
        ids_shuffle = noise.argsort(1)
        ids_restore = ids_shuffle.argsort(1)
        vis = torch.gather(x, 1, ids_shuffle[:, :KEEP, None].expand(-1, -1, D))
        mask = torch.ones(b, L)
        mask[:, :KEEP] = 0
        mask = torch.gather(mask, 1, ids_restore)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(b, -1, -1)
        h = torch.cat([cls, vis], 1)
        for blk in self.blocks:
            h = blk(h)
        y = self.decoder_embed(self.norm(h))
        tokens = self.mask_token.expand(b, L - KEEP, -1)
        full = torch.gather(torch.cat([y[:, 1:], tokens], 1), 1, ids_restore[:, :, None].expand(-1, -1, E))
        d = torch.cat([y[:, :1], full], 1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            d = blk(d)
        pred = self.decoder_pred(self.decoder_norm(d))[:, 1:]
        return pred, target, mask


def relation_logits(e, tau, exclude_diag):
    z = e / torch.sqrt((e * e).sum(1, keepdim=True) + 1e-12)
    s = z @ z.t() / tau
    if exclude_diag:
        s = s - torch.eye(e.shape[0]) * 1e4
    return s.log_softmax(1)


def kl_rows(lp, lq, exclude_diag):
    t = lp.exp() * (lp - lq)
    if exclude_diag:
        t = t * (1 - torch.eye(lp.shape[0]))
    return t.sum() / lp.shape[0]


model = Mae()
teacher = None
if IRM:
    from onnx_graph import OnnxGraph

    teacher = OnnxGraph(IRM["teacher"], sys.stdin.buffer.read()).eval()
    if IRM["teacher"]["input"]["size"] != S:
        raise SystemExit("mae.py: the teacher's input size differs from the MAE's (no resize mirrored)")


def loss_fn(imgs):
    pred, target, mask = model(imgs)
    mse = (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum().clamp(min=1)
    if teacher is None:
        return mse
    m3 = mask[:, :, None]
    rec = (unpatchify(pred * m3 + target * (1 - m3)) * 0.5 + 0.5).clamp(0, 1)
    tau, ex = IRM["temperature"], IRM["excludeDiagonal"]
    with torch.no_grad():
        lr_ = relation_logits(teacher(imgs), tau, ex)
    lq = relation_logits(teacher(rec), tau, ex)
    d = IRM["direction"]
    irm = kl_rows(lr_, lq, ex) if d == "real-rec" else kl_rows(lq, lr_, ex) if d == "rec-real" else \
        0.5 * (kl_rows(lr_, lq, ex) + kl_rows(lq, lr_, ex))
    return mse + IRM["weight"] * irm


A = args["adamw"]
named = list(model.named_parameters())
no_decay = [p for n, p in named if p.ndim <= 1 or n in ("cls_token", "mask_token")]
decay = [p for n, p in named if not (p.ndim <= 1 or n in ("cls_token", "mask_token"))]
params = decay + no_decay
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": A["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=args["lr"], betas=(A["beta1"], A["beta2"]), eps=A["eps"],
)
imgs = torch.rand(B, S, S, 3)


time_steps(lambda: loss_fn(imgs), opt, params, A["clipNorm"], B, args["warmup"], args["steps"])
