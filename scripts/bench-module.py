#!/usr/bin/python3
"""The Python module against the program on one bank: `memscope score --bank DIR` (a process that reads the files,
scores and writes them) beside memscope.score (the same arrays, in memory) and memscope.report (that and the files),
and the time `import memscope` takes. Both score with --null-draws D (default 0: the permutation null repeats
the whole scoring D times, in both alike).
Usage: PYTHONPATH=build/python /usr/bin/python3 scripts/bench-module.py [N=60000] [J=256] [D=0] [DIR=/tmp/memscope-bench-bank]
"""
import os
import subprocess
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
j = int(sys.argv[2]) if len(sys.argv) > 2 else 256
draws = int(sys.argv[3]) if len(sys.argv) > 3 else 0
d = sys.argv[4] if len(sys.argv) > 4 else "/tmp/memscope-bench-bank"
program = os.environ.get("MEMSCOPE", "build/memscope")

start = time.perf_counter()
subprocess.run([sys.executable, "-c", "import memscope"], check=True)
python_alone = time.perf_counter() - start
start = time.perf_counter()
subprocess.run([sys.executable, "-c", "pass"], check=True)
python_alone -= time.perf_counter() - start
start = time.perf_counter()
import memscope  # noqa: E402
import_seconds = time.perf_counter() - start

os.makedirs(d, exist_ok=True)
mask = memscope.plan(n, design="subsets", models=j, seed=0)
rng = np.random.default_rng(0)
logp = (rng.normal(-100, 5, (n, 1)) + rng.normal(0, 2, (n, j))).astype(np.float32)
np.save(f"{d}/logp.npy", logp)
np.save(f"{d}/mask.npy", mask)

start = time.perf_counter()
subprocess.run([program, "score", "--bank", d, "--null-draws", str(draws)], check=True, capture_output=True)
cli = time.perf_counter() - start
start = time.perf_counter()
r = memscope.score(logp, mask, null_draws=draws)
score = time.perf_counter() - start
start = time.perf_counter()
memscope.report(logp, mask, out=d + "-module", null_draws=draws)
report = time.perf_counter() - start
print(f"bank {n} x {j} (no membership effect), {draws} null draws: memorized {r['memorized']}")
print(f"import memscope: {import_seconds:.2f} s in this process ({python_alone:.2f} s more than a bare interpreter)")
print(f"score --bank (program, files in and out): {cli:.1f} s")
print(f"memscope.score (in memory):               {score:.1f} s ({score / cli:.2f}x the program)")
print(f"memscope.report (in memory, files out):   {report:.1f} s ({report / cli:.2f}x the program)")
