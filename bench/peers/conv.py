"""PyTorch peer of bench/models/iresnet.ts (IResNet + ArcFace s=64 m=0.5, SGD momentum); one JSON line."""
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
B, S, LAYERS, WIDTHS = args["batch"], args["img"], args["layers"], args["widths"]
EMB, CLASSES = args["embedding"], args["classes"]


class Block(nn.Module):
    def __init__(self, cin, cout, stride, down):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.prelu = nn.PReLU(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5)) if down else None

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (self.down(x) if self.down is not None else x)


class IResNet(nn.Module):
    def __init__(self):
        super().__init__()
        w0 = WIDTHS[0]
        self.stem = nn.Sequential(nn.Conv2d(3, w0, 3, 1, 1, bias=False), nn.BatchNorm2d(w0, eps=1e-5), nn.PReLU(w0))
        blocks, cin = [], w0
        for s, n in enumerate(LAYERS):
            cout = WIDTHS[s]
            for i in range(n):
                stride = 2 if i == 0 else 1
                blocks.append(Block(cin, cout, stride, i == 0 and (stride != 1 or cin != cout)))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        side = S // 16
        self.bn2 = nn.BatchNorm2d(cin, eps=1e-5)
        self.fc = nn.Linear(cin * side * side, EMB)
        self.features = nn.BatchNorm1d(EMB, eps=1e-5)

    def forward(self, x):
        x = self.bn2(self.blocks(self.stem(x)))
        return self.features(self.fc(x.flatten(1)))


class ArcFace(nn.Module):
    def __init__(self, s=64.0, m=0.5):
        super().__init__()
        self.w = nn.Parameter(torch.randn(EMB, CLASSES) * 0.01)
        self.s, self.m = s, m

    def forward(self, emb, labels):
        cos = (F.normalize(emb, dim=1) @ F.normalize(self.w, dim=0)).clamp(-1 + 1e-7, 1 - 1e-7)
        onehot = F.one_hot(labels, CLASSES).float()
        sin = torch.sqrt(1 - cos * cos)
        phi = cos * math.cos(self.m) - sin * math.sin(self.m)
        logits = (cos + onehot * (phi - cos)) * self.s
        return F.cross_entropy(logits, labels)


net, head = IResNet(), ArcFace()
params = list(net.parameters()) + list(head.parameters())
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)
imgs = torch.rand(B, 3, S, S)
labels = torch.randint(0, CLASSES, (B,))


def step():
    opt.zero_grad(set_to_none=True)
    loss = head(net(imgs), labels)
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
    "params": sum(p.numel() for p in params),
    "loss": loss,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))
