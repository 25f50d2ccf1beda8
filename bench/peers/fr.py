"""PyTorch peer of the train-fr step (src/train/fr-step.ts), for `npm run bench -- fr`.

The IResNet of src/models/backbones/iresnet.py built from the registry's architecture (layers,
widths, stem stride: BACKBONE_ARCHS): 3x3 stem -> BN -> PReLU, IBasicBlocks BN-conv-BN-PReLU-conv-BN
with the stage's first block strided in its second conv and a 1x1 conv + BN shortcut when the
shape changes, BN -> flatten -> FC -> BN without scale; inputs (x-0.5)/0.5. Head: cosine
classifier (normalised embeddings x normalised centres [D,C], clamped), insightface's combined
margin, cross-entropy. SGD momentum with coupled weight decay on the >1-D parameters only and
global-norm clipping, as src/train/optimizer.ts. Prints one JSON line.

With the `mobileface` architecture (the parrot attacker's network, src/models/backbones/mobileface.ts)
the backbone is MobileFace instead: (x*255 - 127.5)/128, pad 1 + 3x3 conv s2 (3->32) + PReLU, four
stages of 1x1 conv, then pad 1 + 3x3 depthwise s2 + PReLU (= a) and two pad 1 + 3x3 depthwise s1 +
PReLU, plus a; flatten (4*4*128) -> linear 2048->256 without bias -> per-channel scale and shift.
"""
import json, math, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from timing import time_steps

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
A = args["arch"]
B, S = args["batch"], args["inputSize"]
EMB, CLASSES, MG = args["embedding"], args["classes"], args["margin"]


def conv(cin, cout, k, stride):
    c = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
    nn.init.normal_(c.weight, 0, 0.1)
    return c


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = conv(cin, cout, 3, 1)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.prelu = nn.PReLU(cout, 0.25)
        self.conv2 = conv(cout, cout, 3, stride)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
        self.down = (nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout, eps=1e-5))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (self.down(x) if self.down is not None else x)


class IResNet(nn.Module):
    def __init__(self):
        super().__init__()
        LAYERS, WIDTHS, STEM = A["layers"], A["widths"], A["stemStride"]
        w0 = WIDTHS[0]
        self.stem = nn.Sequential(conv(3, w0, 3, STEM), nn.BatchNorm2d(w0, eps=1e-5), nn.PReLU(w0, 0.25))
        blocks, cin = [], w0
        for s, n in enumerate(LAYERS):
            for i in range(n):
                blocks.append(Block(cin, WIDTHS[s], 2 if i == 0 else 1))
                cin = WIDTHS[s]
        self.blocks = nn.Sequential(*blocks)
        side = math.ceil(S / 16 / STEM)
        self.bn2 = nn.BatchNorm2d(cin, eps=1e-5)
        self.fc = nn.Linear(cin * side * side, EMB)
        self.features = nn.BatchNorm1d(EMB, eps=1e-5)
        self.features.weight.requires_grad_(False)  # gamma fixed at 1, as ours

    def forward(self, x):
        x = self.bn2(self.blocks(self.stem((x - 0.5) / 0.5)))
        return self.features(self.fc(x.flatten(1)))


def kaiming(m, fan_in):
    nn.init.normal_(m.weight, 0, math.sqrt(2 / fan_in))
    return m


class MobileFace(nn.Module):
    STAGES = [(32, 32), (32, 32), (32, 64), (64, 128)]

    def __init__(self):
        super().__init__()
        if EMB != 256 or S != 112:
            raise SystemExit("fr.py: mobileface is fixed at 112 px and 256-d")
        self.conv1 = kaiming(nn.Conv2d(3, 32, 3, 2, 1, bias=False), 27)
        self.prelu1 = nn.PReLU(32, 0.25)
        self.stages = nn.ModuleList()
        for cin, c in self.STAGES:
            st = nn.Module()
            st.pw = kaiming(nn.Conv2d(cin, c, 1, bias=False), cin)
            st.dw = nn.ModuleList(kaiming(nn.Conv2d(c, c, 3, 2 if k == 0 else 1, 1, groups=c, bias=False), 9)
                                  for k in range(3))
            st.act = nn.ModuleList(nn.PReLU(c, 0.25) for _ in range(3))
            self.stages.append(st)
        self.dense = nn.Linear(2048, EMB, bias=False)
        nn.init.normal_(self.dense.weight, 0, 1 / math.sqrt(2048))
        self.bn_mul = nn.Parameter(torch.ones(EMB))
        self.bn_add = nn.Parameter(torch.zeros(EMB))

    def forward(self, x):
        y = self.prelu1(self.conv1((x * 255 - 127.5) * 0.0078125))
        for st in self.stages:
            y = st.pw(y)
            a = st.act[0](st.dw[0](y))
            y = st.act[2](st.dw[2](st.act[1](st.dw[1](a)))) + a
        return self.dense(y.flatten(1)) * self.bn_mul + self.bn_add


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(EMB, CLASSES) * 0.01)

    def forward(self, emb, labels):
        cos = (F.normalize(emb, dim=1, eps=1e-6) @ F.normalize(self.weight, dim=0, eps=1e-6)).clamp(-1, 1)
        onehot = F.one_hot(labels, CLASSES).float()
        t = (cos * onehot).sum(1, keepdim=True)
        s, m1, m2, m3 = MG["s"], MG["m1"], MG["m2"], MG["m3"]
        if m1 == 1 and m2 == 0:
            target = t - m3
        else:
            if m1 == 1:
                ang = t * math.cos(m2) - torch.sqrt((1 - t * t).clamp(min=1e-12)) * math.sin(m2)
            else:
                ang = torch.cos(torch.acos(t.clamp(-1 + 1e-6, 1 - 1e-6)) * m1 + m2)
            ang = ang - m3
            if MG.get("easyMargin"):
                target = torch.where(t > 0, ang, t - m3)
            else:
                target = torch.where(t > math.cos((math.pi - m2) / m1), ang, t - (math.sin(math.pi - m2) * m2 + m3))
        logits = (cos + onehot * (target - t)) * s
        return F.cross_entropy(logits, labels)


net, head = (MobileFace() if A["kind"] == "mobileface" else IResNet()), Head()
named = [(n, p) for n, p in list(net.named_parameters()) + list(head.named_parameters()) if p.requires_grad]
decay = [p for _, p in named if p.ndim > 1]
no_decay = [p for _, p in named if p.ndim <= 1]
params = decay + no_decay
G = args["sgd"]
opt = torch.optim.SGD(
    [{"params": decay, "weight_decay": G["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=args["lr"], momentum=G["momentum"],
)
# a new batch every step, made before timing (as ours: a repeated batch is memorised, loss 0)
batches = [(torch.rand(B, 3, S, S), torch.randint(0, CLASSES, (B,))) for _ in range(args["warmup"] + args["steps"])]
it = iter(batches)


def loss_fn():
    imgs, labels = next(it)
    return head(net(imgs), labels)


time_steps(loss_fn, opt, params, G["clipNorm"], B, args["warmup"], args["steps"])
