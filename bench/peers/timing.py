"""The peers' shared training step and timing: zero_grad, loss, backward, global-norm clip, optimizer
step (as src/train/trainer.ts trainStep); warm-up, timed steps, one JSON line in bench/common.ts's
Result shape."""
import json, resource, time
import torch


def time_steps(loss_fn, opt, params, clip, batch, warmup, steps):
    """Runs `warmup` untimed then `steps` timed training steps of loss_fn() and prints the result."""

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    c0 = time.process_time()
    t0 = time.perf_counter()
    loss = float("nan")
    for _ in range(steps):
        loss = step()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({
        "imgPerSec": batch * steps / dt,
        "stepMs": 1000 * dt / steps,
        "cpuMsPerStep": 1000 * cpu / steps,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": sum(p.numel() for p in params),
        "loss": loss,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))
