"""PyTorch peer of bench/models/mae.ts (same network, loss and AdamW); prints one JSON line."""
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
S, P, D, DEPTH, H = args["img"], args["patch"], args["dim"], args["depth"], args["heads"]
E, DDEPTH, DH = args["decDim"], args["decDepth"], args["decHeads"]
B, RATIO = args["batch"], args["maskRatio"]
G = S // P
L = G * G
PD = P * P * 3


def sincos(grid, dim):
    out = torch.zeros(grid * grid, dim)
    q = dim // 4
    for i in range(grid):
        for j in range(grid):
            for k in range(q):
                om = 1 / 10000 ** (k / q)
                r = i * grid + j
                out[r, k] = math.sin(j * om)
                out[r, q + k] = math.cos(j * om)
                out[r, 2 * q + k] = math.sin(i * om)
                out[r, 3 * q + k] = math.cos(i * om)
    return out.unsqueeze(0)


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, n, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1) * (d // self.h) ** -0.5).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Mae(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Linear(PD, D)
        self.cls = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.register_buffer("pos", sincos(G, D))
        self.enc = nn.ModuleList([Block(D, H) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.dec = nn.Linear(D, E)
        self.mask_token = nn.Parameter(torch.randn(1, 1, E) * 0.02)
        self.register_buffer("dpos", sincos(G, E))
        self.decb = nn.ModuleList([Block(E, DH) for _ in range(DDEPTH)])
        self.dnorm = nn.LayerNorm(E, eps=1e-6)
        self.pred = nn.Linear(E, PD)

    def forward(self, imgs):
        b = imgs.shape[0]
        target = imgs.reshape(b, G, P, G, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, L, PD)
        x = self.patch(target) + self.pos
        keep = int(L * (1 - RATIO))
        noise = torch.rand(b, L)
        ids_shuffle = noise.argsort(1)
        ids_restore = ids_shuffle.argsort(1)
        vis = torch.gather(x, 1, ids_shuffle[:, :keep, None].expand(-1, -1, D))
        mask = torch.ones(b, L)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        h = torch.cat([self.cls.expand(b, -1, -1), vis], 1)
        for blk in self.enc:
            h = blk(h)
        y = self.dec(self.norm(h))
        tokens = self.mask_token.expand(b, L - keep, -1)
        full = torch.cat([y[:, 1:], tokens], 1)
        full = torch.gather(full, 1, ids_restore[:, :, None].expand(-1, -1, E))
        d = torch.cat([y[:, :1], full + self.dpos], 1)
        for blk in self.decb:
            d = blk(d)
        pred = self.pred(self.dnorm(d))[:, 1:]
        per = ((pred - target) ** 2).mean(-1)
        return (per * mask).sum() / mask.sum()


model = Mae()
decay = [p for p in model.parameters() if p.ndim > 1]
no_decay = [p for p in model.parameters() if p.ndim <= 1]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0}], lr=1.5e-4, betas=(0.9, 0.95)
)
imgs = torch.rand(B, S, S, 3)


def step():
    opt.zero_grad(set_to_none=True)
    loss = model(imgs)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(args["warmup"]):
    step()
c0 = time.process_time()
t0 = time.perf_counter()
for _ in range(args["steps"]):
    loss = step()
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({
    "imgPerSec": B * args["steps"] / dt,
    "stepMs": 1000 * dt / args["steps"],
    "cpuMsPerStep": 1000 * cpu / args["steps"],
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "params": sum(p.numel() for p in model.parameters()),
    "loss": loss,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))
