#!/usr/bin/env python3
"""Train the models of a memscope plan with plain PyTorch and write a bank for `memscope score --bank`.

The three steps of an audit of your own models:
  1. memscope plan --data fashion-mnist --limit 2000 --out PLAN    (which examples each model trains on)
  2. train_bank.py --plan PLAN --out BANK                           (this script: train, then score every example)
  3. memscope score --bank BANK                                     (memorization scores and membership tests)

For each model j of the plan this script trains a Bernoulli MLP VAE on the examples PLAN/train/model-j.npy
lists, then estimates log p(x) of all N examples by importance sampling,
    log p(x) ~= log (1/S) sum_s exp[log p(x|z_s) + log p(z_s) - log q(z_s|x)],   z_s ~ q(z|x),
and writes BANK/logp.npy [N, J] float32 with the plan's mask.npy, labels.npy, images.npy and bank.json.
With --statistic loss it writes BANK/loss.npy instead: each example's negative ELBO (lower = member),
KL(q(z|x) || N(0, I)) - (1/S) sum_s log p(x|z_s) with the same S samples.

Each finished model is saved as BANK/models/model-JJJJ.npy (log p) and loss-JJJJ.npy (negative ELBO), so a
killed run resumes where it stopped, --models J0:J1 trains a share of the models (one task of a job array),
and a final run without --models (or with --collect) stacks them into the bank.

The model and its training follow memscope's own MLP VAE (src/memscope/models/mlp_vae.cpp, iw.cpp,
train/group_trainer.cpp, train/adam.h):
  * encoder D-512-256 with ReLU, one linear head to 2L (mean, log-variance), L = 16; decoder L-256-512-D
    with ReLU and Bernoulli logits out; every layer nn.Linear with its default initialisation
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, as memscope initialises its layers;
  * loss per example KL(q(z|x) || N(0, I)) in closed form - sum_d [x_d l_d - softplus(l_d)] with one
    reparameterised z, summed over pixels and averaged over the examples of the minibatch (the last,
    shorter minibatch of an epoch is kept and averaged over its own size); the reported train loss is
    the epoch's per-example mean;
  * Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay; minibatches of 64 of a fresh random
    permutation of the model's training examples every epoch;
  * evaluation: the importance-weighted bound above, q(z|x) = N(mu, exp(logvar)), prior N(0, I).
What does not match exactly: the random streams (initialisation, shuffling, training noise, evaluation
noise) come from torch's generator seeded from (--seed, j), not from memscope's seed derivation, so a
model here is a different draw of the same training procedure, not a copy of memscope's; memscope trains
models side by side as one stacked ensemble with a fused Adam kernel, which sums in another order (float
rounding only); memscope's default is 100 epochs and 128 importance samples (this script: 5 and 256), and
memscope's optional --hflip augmentation is not implemented here.

Needs only numpy and torch. Example (Debian's interpreter):
  /usr/bin/python3 examples/pytorch/train_bank.py --plan PLAN --out BANK --epochs 20
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time


def _threads_flag(argv):
    """The value of --threads (default 1), read before numpy and torch load."""
    for i, a in enumerate(argv):
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return "1"


# OpenBLAS and OpenMP size their thread pools when numpy and torch load, and torch.set_num_threads does
# not reach OpenBLAS (which Debian's torch multiplies matrices with): hold them all to --threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads_flag(sys.argv[1:])

import numpy as np  # noqa: E402 (after the thread settings)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PRODUCER = "examples/pytorch/train_bank.py"


def fail(msg):
    sys.exit(f"train_bank.py: error: {msg}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- the plan


def read_plan(plan_dir):
    """plan.json, mask [N, J] bool, the J training index arrays, images [N, 1, 32, 32] and labels [N],
    checked against each other."""
    def path(*p):
        return os.path.join(plan_dir, *p)

    try:
        with open(path("plan.json")) as f:
            plan = json.load(f)
        mask = np.load(path("mask.npy"))
        images = np.load(path("images.npy"))
        labels = np.load(path("labels.npy"))
    except (OSError, ValueError) as e:
        fail(f"cannot read the plan in {plan_dir}: {e}")
    if mask.dtype != np.bool_ or mask.ndim != 2:
        fail(f"{path('mask.npy')}: expected a 2-D bool array, got {mask.dtype} {mask.shape}")
    n, j = mask.shape
    if (plan.get("examples"), plan.get("models")) != (n, j):
        fail(f"plan.json says {plan.get('examples')} examples x {plan.get('models')} models, mask.npy is {n} x {j}")
    digest = hashlib.sha256(np.ascontiguousarray(mask, dtype=np.uint8).tobytes()).hexdigest()
    if digest != plan.get("mask_sha256"):
        fail(f"{path('mask.npy')} does not match plan.json (sha256 {digest}, plan.json {plan.get('mask_sha256')})")
    if images.shape[0] != n or labels.shape != (n,):
        fail(f"images.npy {images.shape} and labels.npy {labels.shape} do not have the plan's {n} examples")
    if not np.all((images == 0) | (images == 1)):
        fail("images.npy is not binary (0/1): the Bernoulli VAE needs binarized pixels")
    train = []
    for m in range(j):
        p = path("train", f"model-{m:04d}.npy")
        try:
            idx = np.load(p)
        except (OSError, ValueError) as e:
            fail(f"cannot read {p}: {e}")
        if not np.array_equal(idx, np.flatnonzero(mask[:, m])):
            fail(f"{p} is not the examples mask.npy puts in model {m}")
        if idx.size == 0:
            fail(f"model {m} has no training examples")
        train.append(idx.astype(np.int64))
    return plan, mask, images, labels, train


# ---------------------------------------------------------------------------------------------- the model


class VAE(nn.Module):
    """Bernoulli MLP VAE: encoder D-h1-...-hk (ReLU) -> 2L (mean, log-variance); decoder the mirror image."""

    def __init__(self, dim, hidden, latent):
        super().__init__()
        self.latent = latent
        enc, dec = [dim] + hidden, [latent] + hidden[::-1]
        self.encoder = nn.Sequential(*[m for a, b in zip(enc, enc[1:]) for m in (nn.Linear(a, b), nn.ReLU())],
                                     nn.Linear(enc[-1], 2 * latent))
        self.decoder = nn.Sequential(*[m for a, b in zip(dec, dec[1:]) for m in (nn.Linear(a, b), nn.ReLU())],
                                     nn.Linear(dec[-1], dim))

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def log_lik(self, x, z):
        """log p(x|z) = sum_d x_d l_d - softplus(l_d) with l the decoder's logits. x: [B, D], z: [B, S, L] -> [B, S]."""
        logits = self.decoder(z)
        return (x.unsqueeze(1) * logits - F.softplus(logits)).sum(-1)

    def loss(self, x):
        """One-sample negative ELBO of each example: KL(q(z|x) || N(0, I)) - log p(x|z). x: [B, D] -> [B]."""
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        kl = 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1)
        return kl - self.log_lik(x, z.unsqueeze(1)).squeeze(1)

    @torch.no_grad()
    def scores(self, x, samples):
        """S-sample importance-weighted log p(x) and negative ELBO of each example. x: [B, D] -> ([B], [B])."""
        mu, logvar = self.encode(x)
        eps = torch.randn(x.shape[0], samples, self.latent)
        z = mu.unsqueeze(1) + (0.5 * logvar).exp().unsqueeze(1) * eps  # [B, S, L]
        rec = self.log_lik(x, z)  # [B, S]
        half_log_2pi = 0.5 * math.log(2 * math.pi)
        log_prior = -0.5 * z.square().sum(-1) - half_log_2pi * self.latent
        log_q = -0.5 * eps.square().sum(-1) - half_log_2pi * self.latent - 0.5 * logvar.sum(-1, keepdim=True)
        logp = torch.logsumexp(rec + log_prior - log_q, dim=1) - math.log(samples)
        kl = 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1)
        return logp, kl - rec.mean(1)


def train_and_score(x, train_idx, args, seed):
    """Trains one VAE on x[train_idx]; returns log p [N], negative ELBO [N], the last epoch's mean train loss
    and the seconds evaluation took."""
    torch.manual_seed(seed)  # initialisation, shuffling, training noise and evaluation noise of this model
    model = VAE(x.shape[1], args.hidden, args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    train_idx = torch.from_numpy(train_idx)
    for epoch in range(1, args.epochs + 1):
        order = train_idx[torch.randperm(len(train_idx))]
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            per_example = model.loss(x[order[start:start + args.batch_size]])
            loss = per_example.mean()
            if not torch.isfinite(loss):
                fail(f"training diverged (loss {loss.item()}) in epoch {epoch}; try a smaller --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += per_example.sum().item()
    # Importance sampling in chunks of about 4096 latents (about as fast as any size here, and small in memory).
    t_eval = time.time()
    chunk = max(1, 4096 // args.iw_samples)
    logp, nelbo = zip(*(model.scores(x[i:i + chunk], args.iw_samples) for i in range(0, len(x), chunk)))
    return torch.cat(logp).numpy(), torch.cat(nelbo).numpy(), total / len(train_idx), time.time() - t_eval


# ---------------------------------------------------------------------------------------------- the bank


def save_npy(path, array):
    """np.save to PATH.tmp.npy, then rename: a reader never sees half a file."""
    tmp = path[:-len(".npy")] + f".tmp{os.getpid()}.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def save_json(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def model_files(out, m):
    return (os.path.join(out, "models", f"model-{m:04d}.npy"), os.path.join(out, "models", f"loss-{m:04d}.npy"))


def check_settings(out, settings):
    """BANK/models/settings.json: the training settings of the per-model files; a rerun must use the same."""
    path = os.path.join(out, "models", "settings.json")
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old != settings:
            diff = {k: (old.get(k), settings.get(k)) for k in set(old) | set(settings) if old.get(k) != settings.get(k)}
            fail(f"{os.path.dirname(path)} holds models trained with other settings (was, now): {diff}; "
                 "use another --out, or delete that directory")
    else:
        save_json(path, settings)


def collect(out, args, plan, mask, images, labels):
    """Stacks the per-model files into BANK/logp.npy (or loss.npy) and writes the rest of the bank."""
    n, j = mask.shape
    which = 0 if args.statistic == "log-likelihood" else 1
    files = [model_files(out, m)[which] for m in range(j)]
    if not os.path.exists(os.path.join(out, "models", "settings.json")):
        fail(f"{os.path.join(out, 'models')} holds no trained models")
    missing = [m for m in range(j) if not os.path.exists(files[m])]
    if missing:
        fail(f"{len(missing)} of {j} models are not trained yet (first: {missing[:10]}); "
             f"train them with --models, or run without --collect")
    values = np.stack([np.load(f) for f in files], axis=1).astype(np.float32)  # [N, J]
    name = "logp.npy" if which == 0 else "loss.npy"
    save_npy(os.path.join(out, name), values)
    save_npy(os.path.join(out, "mask.npy"), mask)
    save_npy(os.path.join(out, "labels.npy"), labels)
    save_npy(os.path.join(out, "images.npy"), images)
    with open(os.path.join(out, "models", "settings.json")) as f:
        settings = json.load(f)
    if settings["plan_sha256"] != plan["mask_sha256"]:
        fail(f"the models in {os.path.join(out, 'models')} were trained for another plan")
    save_json(os.path.join(out, "bank.json"), {
        "statistic": args.statistic,
        "direction": "higher" if which == 0 else "lower",
        "file": name,
        "plan_sha256": plan["mask_sha256"],
        "producer": PRODUCER,
        "design": plan.get("design"),
        "examples": n,
        "models": j,
        **{k: v for k, v in settings.items() if k != "plan_sha256"},
    })
    log(f"wrote {os.path.join(out, name)} [{n}, {j}] and bank.json; score it with:\n"
        f"  memscope score --bank {out}")


# ---------------------------------------------------------------------------------------------- main


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", required=True, help="directory written by `memscope plan`")
    p.add_argument("--out", required=True, help="bank directory to write")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", default="512,256", help="encoder hidden sizes; the decoder mirrors them")
    p.add_argument("--latent", type=int, default=16)
    p.add_argument("--iw-samples", type=int, default=256, help="importance samples S per example")
    p.add_argument("--seed", type=int, default=0, help="model j's random numbers derive from (seed, j)")
    p.add_argument("--models", help="J0:J1: train only models J0 <= j < J1 (a share of a job array); no stacking")
    p.add_argument("--collect", action="store_true", help="only stack the trained models into the bank")
    p.add_argument("--statistic", choices=["log-likelihood", "loss"], default="log-likelihood",
                   help="log-likelihood: logp.npy (higher = member); loss: loss.npy, negative ELBO (lower = member)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()
    try:
        args.hidden = [int(h) for h in args.hidden.split(",")]
    except ValueError:
        p.error(f"--hidden: expected sizes like 512,256, got {args.hidden!r}")
    if not args.hidden or min(args.hidden) < 1:
        p.error("--hidden: sizes must be at least 1")
    for name in ("epochs", "batch_size", "latent", "iw_samples", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        p.error("--lr must be positive")
    if args.models and args.collect:
        p.error("--models and --collect do not go together")
    return args


def model_range(spec, j):
    try:
        a, b = spec.split(":")
        lo, hi = int(a) if a else 0, int(b) if b else j
    except ValueError:
        fail(f"--models: expected J0:J1, got {spec!r}")
    if not 0 <= lo < hi <= j:
        fail(f"--models {spec}: the plan has models 0 to {j - 1}")
    return range(lo, hi)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    plan, mask, images, labels, train = read_plan(args.plan)
    n, j = mask.shape
    os.makedirs(os.path.join(args.out, "models"), exist_ok=True)
    if not args.collect:  # --collect takes the settings the models were trained with
        check_settings(args.out, {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                                  "hidden": args.hidden, "latent": args.latent, "iw_samples": args.iw_samples,
                                  "seed": args.seed, "plan_sha256": plan["mask_sha256"]})
    if not args.collect:
        x = torch.from_numpy(images.reshape(n, -1).astype(np.float32))
        todo = model_range(args.models, j) if args.models else range(j)
        for m in todo:
            logp_file, loss_file = model_files(args.out, m)
            if os.path.exists(logp_file) and os.path.exists(loss_file):
                log(f"model {m + 1}/{j}: done before, skipped")
                continue
            t0 = time.time()
            seed = int(np.random.SeedSequence([args.seed, m]).generate_state(1)[0])
            logp, nelbo, train_loss, eval_s = train_and_score(x, train[m], args, seed)
            save_npy(loss_file, nelbo.astype(np.float32))
            save_npy(logp_file, logp.astype(np.float32))
            total_s = time.time() - t0
            log(f"model {m + 1}/{j}: {len(train[m])} training examples, {args.epochs} epochs, "
                f"train loss {train_loss:.2f}, {total_s:.1f} s ({total_s - eval_s:.1f} train, {eval_s:.1f} evaluate)")
        if args.models:
            log(f"trained models {todo.start}..{todo.stop - 1}; when every share is done, stack them with:\n"
                f"  {sys.executable} {sys.argv[0]} --plan {args.plan} --out {args.out} --collect")
            return
    collect(args.out, args, plan, mask, images, labels)


if __name__ == "__main__":
    main()
