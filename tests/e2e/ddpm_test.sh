#!/usr/bin/env bash
# End-to-end: a tiny DDPM runs, scores, reports and extracts at test size; its bad input is a
# one-line error before any run directory exists. Usage: ddpm_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
out="$work/run"
common=(--data fashion-mnist --limit 120 --model ddpm --channels 8,16 --timesteps 50 --folds 2 --epochs 1
        --batch-size 32 --elbo-samples 4 --progress none --threads 2)
"$bin" run "${common[@]}" --loss-timesteps 5,10,20 --out "$out" > "$out.log" 2>&1 ||
  fail "run failed: $(tail -3 "$out.log")"
awk -F, 'NR > 1 { n++; for (i = 3; i <= 5; i++) if ($i !~ /^-?[0-9.e+-]+$/) exit 1 } END { if (n != 120) exit 2 }' \
  "$out/scores.csv" || fail "scores.csv check failed with code $?"
python3 - "$out" <<'PY' || fail "run arrays"
import ast, math, struct, sys
def load(path):  # a little-endian float32 .npy without numpy
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    assert h["descr"] == "<f4", h
    return h["shape"], struct.unpack("<%df" % (len(b[10 + n:]) // 4), b[10 + n:])
d = sys.argv[1]
(ls, lp), (ss, se), (ds, dl) = load(d + "/logp.npy"), load(d + "/logp_se.npy"), load(d + "/denoise_loss.npy")
assert ls == (1, 120, 2) and ss == ls and ds == (3, 120, 2), (ls, ss, ds)
assert all(math.isfinite(v) and v < 0 for v in lp), "log p"
assert all(math.isfinite(v) and v > 0 for v in se), "se"
assert all(math.isfinite(v) and v > 0 for v in dl), "denoising loss"
print("mean log p %.1f, mean se %.1f, mean denoising loss %.3f" % (sum(lp) / len(lp), sum(se) / len(se), sum(dl) / len(dl)))
PY
python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))["timesteps"]
assert sorted(d, key=int) == ["5", "10", "20"], list(d)
assert all(any(a["attack"] == "lira-online" for a in v["attacks"]) for v in d.values())' "$out/membership-denoise.json" ||
  fail "membership-denoise.json"
"$bin" score --run "$out" > "$work/score.log" 2>&1 || fail "score failed: $(tail -3 "$work/score.log")"
"$bin" report --run "$out" > "$work/report.log" 2>&1 || fail "report failed: $(tail -3 "$work/report.log")"
[[ -s "$out/report.html" ]] || fail "no report"
grep -q 'id="membership-denoise"' "$out/report.html" || fail "the report lacks the denoising-loss attacks"
grep -q 'mean Monte Carlo part' "$out/report.html" || fail "the report lacks the bound's Monte Carlo error"
"$bin" extract --run "$out" --samples 6 --sample-steps 5 --sampler ddim --jobs 0 --no-report > "$work/extract.log" 2>&1 ||
  fail "extract failed: $(tail -3 "$work/extract.log")"
grep -q '"sampler": "ddim"' "$out/extraction.json" || fail "extraction.json lacks the sampler"
[[ $(wc -l < "$out/extraction.csv") -eq 7 ]] || fail "extraction.csv should have 6 samples"

# Bad input: one line on stderr, exit code 1, no run directory.
bad() {
  local name=$1 expect=$2
  shift 2
  set +e
  "$bin" run "$@" --out "$work/bad-$name" > /dev/null 2> "$work/$name.err"
  local rc=$?
  set -e
  [[ $rc -eq 1 ]] || fail "$name: exit code $rc, expected 1: $(cat "$work/$name.err")"
  [[ $(grep -c "error:" "$work/$name.err") -eq 1 ]] || fail "$name: expected one error line, got: $(cat "$work/$name.err")"
  grep -q -- "$expect" "$work/$name.err" || fail "$name: message lacks '$expect': $(cat "$work/$name.err")"
  [[ ! -e "$work/bad-$name" ]] || fail "$name: the run directory was written"
}
bad sides "multiples of 8" "${common[@]}" --no-pad
printf '1,2,3\n4,5,6\n7,8,9\n1,1,1\n' > "$work/table.csv"
bad nonimage "images" --data "csv:$work/table.csv" --model ddpm --folds 2 --epochs 1 --progress none --neighbours 1
bad elbo0 "elbo-samples" "${common[@]}" --elbo-samples 0
bad elbo_t "elbo-samples" "${common[@]}" --elbo-samples 51
bad loss_t "loss-timesteps" "${common[@]}" --loss-timesteps 10,60
echo "ddpm e2e: ok"
