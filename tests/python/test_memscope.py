"""The Python module memscope against the program: the same plan, the same scores, the same one-line errors.

Run by ctest with PYTHONPATH=build/python and MEMSCOPE=build/memscope (the program), TMP a scratch directory.
"""
import csv
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import numpy as np

import memscope

PROGRAM = os.environ.get("MEMSCOPE", "build/memscope")


def null_bank(mask, seed=0):
    """log p with no membership effect: a spread per example and noise per model."""
    rng = np.random.default_rng(seed)
    n, j = mask.shape
    return (rng.normal(-100, 5, (n, 1)) + rng.normal(0, 2, (n, j))).astype(np.float32)


class Plan(unittest.TestCase):
    def test_plan_is_the_programs(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([PROGRAM, "plan", "--n", "90", "--design", "subsets", "--models", "6", "--seed", "4",
                            "--out", d], check=True, capture_output=True)
            mask = memscope.plan(90, design="subsets", models=6, seed=4)
            self.assertEqual(mask.dtype, np.bool_)
            np.testing.assert_array_equal(mask, np.load(f"{d}/mask.npy"))
            digest = hashlib.sha256(np.ascontiguousarray(mask, dtype=np.uint8).tobytes()).hexdigest()
            self.assertEqual(json.load(open(f"{d}/plan.json"))["mask_sha256"], digest)
            self.assertEqual(memscope.mask_sha256(mask), digest)

    def test_bad_design_options_raise_the_programs_message(self):
        with self.assertRaisesRegex(memscope.Error, "folds"):
            memscope.plan(50, folds=1)
        with self.assertRaises(ValueError):
            memscope.plan(0)


class Score(unittest.TestCase):
    def setUp(self):
        self.mask = memscope.plan(300, design="subsets", models=8, seed=1)
        self.logp = null_bank(self.mask)

    def test_scores_equal_score_bank(self):
        with tempfile.TemporaryDirectory() as d:
            np.save(f"{d}/logp.npy", self.logp)
            np.save(f"{d}/mask.npy", self.mask)
            subprocess.run([PROGRAM, "score", "--bank", d, "--null-draws", "3"], check=True, capture_output=True)
            with open(f"{d}/scores.csv") as f:
                rows = list(csv.DictReader(f))
        r = memscope.score(self.logp, self.mask, null_draws=3)
        np.testing.assert_allclose(r["scores"]["mem"], [float(x["mem"]) for x in rows], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(r["scores"]["mem_q"], [float(x["mem_q"]) for x in rows], rtol=1e-6, atol=1e-8)
        self.assertEqual(r["examples"], 300)
        self.assertEqual(r["models"], 8)

    def test_no_signal_in_no_finding_out(self):
        r = memscope.score(self.logp, self.mask)
        self.assertLessEqual(r["memorized"], 2)
        for attack in r["membership"]["attacks"]:
            self.assertAlmostEqual(attack["auc"]["mean"], 0.5, delta=0.05)

    def test_a_loss_is_scored_as_its_difference(self):
        r = memscope.score(-self.logp, self.mask, statistic="loss", direction="lower")
        self.assertIn("diff", r["scores"])
        self.assertNotIn("mem", r["scores"])
        np.testing.assert_allclose(r["scores"]["diff"], memscope.score(self.logp, self.mask)["scores"]["mem_log"])

    def test_float64_and_non_contiguous_inputs_give_the_same_scores(self):
        a = memscope.score(self.logp, self.mask)["scores"]["mem"]
        b = memscope.score(self.logp.astype(np.float64), self.mask.astype(np.uint8))["scores"]["mem"]
        wide = np.zeros((300, 16), np.float32)
        wide[:, ::2] = self.logp
        c = memscope.score(wide[:, ::2], self.mask)["scores"]["mem"]
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_array_equal(a, c)

    def test_wrong_inputs_raise_one_line_errors(self):
        cases = [
            (lambda: memscope.score(self.logp.astype(np.int64), self.mask), "logp: numpy dtype int64"),
            (lambda: memscope.score(self.logp, self.mask.T), "transpose"),
            (lambda: memscope.score(self.logp, self.mask[:10]), "expected \\[300, 8\\]"),
            (lambda: memscope.score(self.logp, self.mask, statistic="loss"), "has no direction"),
            (lambda: memscope.score(self.logp, self.mask, plan_sha256="0" * 64), "not the mask of the plan"),
            (lambda: memscope.score(self.logp, self.mask, direction="lower"), "higher for a member"),
            (lambda: memscope.score(self.logp, self.mask, direction="down"), "direction"),
            (lambda: memscope.score(self.logp, self.mask, fdr=2), "fdr"),
            (lambda: memscope.score(self.logp, self.mask, bogus=1), "bogus"),
        ]
        for call, message in cases:
            with self.assertRaisesRegex(ValueError, message) as e:
                call()
            self.assertNotIn("\n", str(e.exception))

    def test_the_gil_is_released_while_scoring(self):
        mask = memscope.plan(20000, design="subsets", models=16)
        logp = null_bank(mask)
        ticks = []
        done = threading.Event()

        def tick():
            while not done.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.001)

        t = threading.Thread(target=tick)
        t.start()
        start = time.perf_counter()
        memscope.score(logp, mask, null_draws=0)
        elapsed = time.perf_counter() - start
        done.set()
        t.join()
        during = [x for x in ticks if start < x < start + elapsed]
        self.assertGreater(len(during), 10, f"{len(during)} ticks in {elapsed:.2f} s of scoring")

    def test_report_writes_the_bank_files(self):
        with tempfile.TemporaryDirectory() as d:
            r = memscope.report(self.logp, self.mask, out=d, null_draws=2)
            for f in ("scores.csv", "membership.json", "summary.json"):
                self.assertTrue(os.path.exists(f"{d}/{f}"), f)
            if r["report_error"] == "":
                self.assertTrue(os.path.exists(r["report"]))


if __name__ == "__main__":
    unittest.main()
