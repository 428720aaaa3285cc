#!/usr/bin/env bash
# End-to-end checks of bad input and faults: each case must give ONE line
# "memscope: error: ..." naming the file or option and the problem, a non-zero exit (no signal, no
# "terminate called"), and leave no corrupt run directory: no half-written or temporary files,
# and where it makes sense a later good run in the same directory works.
# Usage: faults_test.sh BUILD/memscope WORKDIR [CASES.md]
# Every case and the exact message it got is written to CASES.md (default WORKDIR/bad-input-cases.md).
# The full-disk and read-only cases mount small tmpfs file systems; they are skipped with a message
# where mounting is not permitted.
set -euo pipefail
bin=$1
work=$2
cases=${3:-$work/bad-input-cases.md}
mounts=()
cleanup() { for m in "${mounts[@]+"${mounts[@]}"}"; do umount "$m" 2> /dev/null || true; done; }
trap cleanup EXIT
cleanup_work() { for m in "$work"/mnt-*; do mountpoint -q "$m" 2> /dev/null && umount "$m"; done; rm -rf "$work"; }
cleanup_work
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$(dirname "$cases")"
printf '# Bad-input and fault cases of tests/e2e/faults_test.sh and the message each gets\n\n' > "$cases"
tiny=(--data fashion-mnist --limit 50 --epochs 1 --folds 2 --iw-samples 4 --hidden 32 --latent 4 --threads 1
      --progress none)
{
  echo "WORK is the test's scratch directory; \$TINY stands for: \`${tiny[*]}\`"
  echo
  printf '| case | command | exit | message |\n|---|---|---|---|\n'
} >> "$cases"

# expect_error NAME PATTERN OUTDIR ARGS...: one error line matching PATTERN, exit 1 or 2 (never a
# signal), and no temporary or half-written file under OUTDIR (which may be absent).
expect_error() {
  local name=$1 pattern=$2 outdir=$3; shift 3
  local rc=0
  "$bin" "$@" > "$work/stdout" 2> "$work/stderr" || rc=$?
  local all msg
  all=$(cat "$work/stderr")
  [[ $rc -ne 0 ]] || fail "$name: exit code 0 for: $*"
  [[ $rc -lt 128 ]] || fail "$name: killed by signal $((rc - 128)): $all"
  # Timestamped log lines ("[12:00:00] data: ...") may precede it; anything else is one error line.
  msg=$(grep -v '^\[[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\] ' "$work/stderr" || true)
  [[ -n $msg && $(printf '%s\n' "$msg" | wc -l) -eq 1 ]] || fail "$name: expected one error line on stderr, got: $all"
  [[ $msg == "memscope: error: "* ]] || fail "$name: not a memscope error line: $all"
  [[ $(grep -ci 'error' "$work/stderr") -eq 1 ]] || fail "$name: more than one line mentions an error: $all"
  printf '%s' "$msg" | grep -q -- "$pattern" || fail "$name: message lacks '$pattern': $msg"
  grep -qE 'terminate called|frame #|Sanitizer|Segmentation' "$work/stderr" && fail "$name: crash output: $all"
  if [[ -n $outdir && -e $outdir ]]; then
    if find "$outdir" -name '.*.tmp.*' | grep -q .; then fail "$name: temporary files left in $outdir"; fi
  fi
  local shown="$*"
  shown=${shown//"${tiny[*]}"/\$TINY}
  printf '| %s | `memscope %s` | %d | `%s` |\n' "$name" "${shown//$work/WORK}" "$rc" "${msg//$work/WORK}" >> "$cases"
  echo "ok: $name -> $msg"
}

# Small files in the formats memscope reads, written with printf (no Python needed).
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
{ printf '\x00\x00\x08\x03'; be32 50; be32 8; be32 8; head -c 3200 /dev/urandom; } > "$work/good.idx"
head -c 2000 "$work/good.idx" > "$work/truncated.idx"
{ printf '\x00\x00\x0d\x03'; tail -c +5 "$work/good.idx"; } > "$work/float.idx"
{ printf '\x12\x34\x08\x03'; tail -c +5 "$work/good.idx"; } > "$work/magic.idx"
gzip -c "$work/good.idx" | head -c 200 > "$work/truncated.idx.gz"
npy_header() {  # DESCR SHAPE -> a version 1.0 header padded to 64 bytes
  local h="{'descr': '$1', 'fortran_order': False, 'shape': $2, }"
  while (((10 + ${#h} + 1) % 64)); do h+=" "; done
  local n=$((${#h} + 1))
  printf '\x93NUMPY\x01\x00'
  printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"
  printf '%s\n' "$h"
}
{ npy_header '<f8' '(50, 4)'; head -c 1600 /dev/zero; } > "$work/good.npy"
{ npy_header '<f8' '(50, 4)'; head -c 1000 /dev/zero; } > "$work/truncated.npy"
{ printf '\x93NUMPY\x01\x00\x10\x00'; printf '{"shape": (2,)}\n'; head -c 16 /dev/zero; } > "$work/header.npy"
printf 'NOT A NUMPY FILE' > "$work/magic.npy"
{ npy_header '<f8' '(4503599627370495, 4503599627370495)'; head -c 16 /dev/zero; } > "$work/huge.npy"
printf 'a,b\n1,2\n3,x\n' > "$work/cell.csv"
printf '1,2,3\n4,5\n' > "$work/ragged.csv"
printf 'a,b\n' > "$work/empty.csv"
printf 'folds = 2\nepochs = "many"\n' > "$work/bad-value.toml"
printf 'folds = 2\nbogus = 1\n' > "$work/bad-key.toml"
printf 'folds = [2\n' > "$work/bad-syntax.toml"
printf "data = 'f\xff\xfe'\n" > "$work/utf8.toml"
{ printf 'hidden = '; head -c 100000 /dev/zero | tr '\0' '['; echo; } > "$work/deep.toml"
{ npy_header "<f8$(head -c 60000 /dev/zero | tr '\0' x)" '(2,)'; head -c 16 /dev/zero; } > "$work/long-header.npy"

# 1. Missing, truncated and malformed data files.
expect_error "missing IDX file" "no such file" "$work/o1" run "${tiny[@]}" --data "idx:$work/none.idx" --out "$work/o1"
expect_error "missing NPY file" "none.npy" "$work/o1" run "${tiny[@]}" --data "npy:$work/none.npy" --out "$work/o1"
expect_error "missing CSV file" "none.csv" "$work/o1" run "${tiny[@]}" --data "csv:$work/none.csv" --out "$work/o1"
expect_error "missing labels file" "no such file" "$work/o1" run "${tiny[@]}" --data "idx:$work/good.idx:$work/none.idx" --out "$work/o1"
expect_error "truncated IDX" "truncated.idx.*truncated" "$work/o1" run "${tiny[@]}" --data "idx:$work/truncated.idx" --out "$work/o1"
expect_error "IDX with wrong magic" "magic.idx.*magic" "$work/o1" run "${tiny[@]}" --data "idx:$work/magic.idx" --out "$work/o1"
expect_error "IDX of floats" "float.idx.*element type" "$work/o1" run "${tiny[@]}" --data "idx:$work/float.idx" --out "$work/o1"
expect_error "truncated gzip IDX" "truncated.idx.gz.*gzip" "$work/o1" run "${tiny[@]}" --data "idx:$work/truncated.idx.gz" --out "$work/o1"
expect_error "labels file of images" "good.idx.*not a label file" "$work/o1" run "${tiny[@]}" --data "idx:$work/good.idx:$work/good.idx" --out "$work/o1"
expect_error "NPY bad magic" "magic.npy.*not an NPY file" "$work/o1" run "${tiny[@]}" --data "npy:$work/magic.npy" --binarize none --model gaussian --out "$work/o1"
expect_error "NPY bad header" "header.npy.*descr" "$work/o1" run "${tiny[@]}" --data "npy:$work/header.npy" --model gaussian --out "$work/o1"
expect_error "NPY 60 kB header" "long-header.npy.*dtype" "$work/o1" run "${tiny[@]}" --data "npy:$work/long-header.npy" --model gaussian --out "$work/o1"
expect_error "NPY truncated data" "truncated.npy.*bytes" "$work/o1" run "${tiny[@]}" --data "npy:$work/truncated.npy" --model gaussian --out "$work/o1"
expect_error "NPY impossible shape" "huge.npy" "$work/o1" run "${tiny[@]}" --data "npy:$work/huge.npy" --model gaussian --out "$work/o1"
expect_error "CSV non-numeric cell" "cell.csv line 3 cell 2" "$work/o1" run "${tiny[@]}" --data "csv:$work/cell.csv" --model gaussian --out "$work/o1"
expect_error "CSV ragged row" "ragged.csv line 2" "$work/o1" run "${tiny[@]}" --data "csv:$work/ragged.csv" --model gaussian --out "$work/o1"
expect_error "CSV without rows" "empty.csv" "$work/o1" run "${tiny[@]}" --data "csv:$work/empty.csv" --model gaussian --out "$work/o1"
expect_error "unknown data source" "--data" "$work/o1" run "${tiny[@]}" --data "hdf5:x.h5" --out "$work/o1"
[[ ! -e $work/o1 ]] || fail "a run that failed on its input left a run directory behind"

# 2. Nonsense options (checked before anything is read or written).
expect_error "0 folds" "--folds" "$work/o2" run "${tiny[@]}" --folds 0 --out "$work/o2"
expect_error "more folds than examples" "--folds" "$work/o2" run "${tiny[@]}" --limit 10 --folds 11 --out "$work/o2"
expect_error "negative learning rate" "--lr" "$work/o2" run "${tiny[@]}" --lr -0.001 --out "$work/o2"
expect_error "NaN learning rate" "--lr" "$work/o2" run "${tiny[@]}" --lr nan --out "$work/o2"
expect_error "negative epochs" "--epochs" "$work/o2" run "${tiny[@]}" --epochs -1 --out "$work/o2"
expect_error "non-numeric epochs" "--epochs" "$work/o2" run "${tiny[@]}" --epochs many --out "$work/o2"
expect_error "negative importance samples" "--iw-samples" "$work/o2" run "${tiny[@]}" --iw-samples -1 --out "$work/o2"
expect_error "negative threads" "--threads" "$work/o2" run "${tiny[@]}" --threads -2 --out "$work/o2"
expect_error "0 batch size" "--batch-size" "$work/o2" run "${tiny[@]}" --batch-size 0 --out "$work/o2"
expect_error "negative limit" "--limit" "$work/o2" run "${tiny[@]}" --limit -5 --out "$work/o2"
expect_error "0 repeats" "--repeats" "$work/o2" run "${tiny[@]}" --repeats 0 --out "$work/o2"
expect_error "hidden size 0" "--hidden" "$work/o2" run "${tiny[@]}" --hidden 64,0 --out "$work/o2"
expect_error "unknown model" "--model" "$work/o2" run "${tiny[@]}" --model transformer --out "$work/o2"
expect_error "KDE bandwidth 0" "--model.*> 0" "$work/o2" run "${tiny[@]}" --model kde:0 --out "$work/o2"
expect_error "KDE negative bandwidth" "--model.*> 0" "$work/o2" run "${tiny[@]}" --model kde:-0.5 --out "$work/o2"
expect_error "KDE bandwidth not a number" "--model" "$work/o2" run "${tiny[@]}" --model kde:wide --out "$work/o2"
expect_error "exact with KDE bandwidth 0" "--model.*> 0" "$work/o2" exact --data fashion-mnist --limit 50 --model kde:0 --out "$work/o2"
expect_error "0 neighbours" "--neighbours" "$work/o2" run "${tiny[@]}" --neighbours 0 --out "$work/o2"
expect_error "more neighbours than examples" "--neighbours.*50 examples" "$work/o2" run "${tiny[@]}" --neighbours 50 --out "$work/o2"
expect_error "unknown device" "--device" "$work/o2" run "${tiny[@]}" --device tpu --out "$work/o2"
expect_error "unknown option" "not expected: --bogus 3" "$work/o2" run "${tiny[@]}" --bogus 3 --out "$work/o2"
expect_error "missing option value" "--folds" "$work/o2" run "${tiny[@]}" --out "$work/o2" --folds
expect_error "TOML bad value" "--epochs" "$work/o2" run --config "$work/bad-value.toml" --out "$work/o2"
expect_error "TOML unknown key" "bad-key.toml.*bogus" "$work/o2" run --config "$work/bad-key.toml" --out "$work/o2"
expect_error "TOML syntax error" "bad-syntax.toml" "$work/o2" run --config "$work/bad-syntax.toml" --out "$work/o2"
expect_error "TOML invalid UTF-8" "utf8.toml.*UTF-8" "$work/o2" run --config "$work/utf8.toml" --out "$work/o2"
expect_error "TOML nested 100,000 deep" "deep.toml.*levels deep" "$work/o2" run --config "$work/deep.toml" --out "$work/o2"
expect_error "missing TOML file" "none.toml" "$work/o2" run --config "$work/none.toml" --out "$work/o2"
[[ ! -e $work/o2 ]] || fail "a run with bad options left a run directory behind"

# 3. Output that cannot be written: a file where the run directory should be, a corrupt run.
printf 'x' > "$work/afile"
expect_error "--out is a file" "afile.*not a directory" "" run "${tiny[@]}" --out "$work/afile"
mkdir -p "$work/corrupt" && printf '[1, 2' > "$work/corrupt/config.json"
expect_error "corrupt config.json" "corrupt/config.json.*not valid JSON" "$work/corrupt" run "${tiny[@]}" --out "$work/corrupt"
printf '[1, 2]' > "$work/corrupt/config.json"
expect_error "config.json not an object" "corrupt/config.json.*object" "$work/corrupt" run "${tiny[@]}" --out "$work/corrupt"
expect_error "score: config.json not an object" "corrupt/config.json.*object" "$work/corrupt" score --run "$work/corrupt"

# 3b. External banks (score --bank): shapes, non-finite log p, a mask that is not 0/1, examples without
# in- or out-models, bad labels. Nothing may be written into the bank.
bank() {  # NAME: a directory with a good 4 x 2 bank (model 1 trained on examples 0 and 2, model 0 on 1 and 3)
  mkdir -p "$work/$1"
  { npy_header '<f8' '(4, 2)'; head -c 64 /dev/zero; } > "$work/$1/logp.npy"
  { npy_header '|b1' '(4, 2)'; printf '\x00\x01\x01\x00\x00\x01\x01\x00'; } > "$work/$1/mask.npy"
}
bank_error() {  # NAME PATTERN: score --bank on WORK/NAME fails with PATTERN and writes nothing
  expect_error "bank: $1" "$2" "$work/$1" score --bank "$work/$1"
  [[ ! -e $work/$1/scores.csv && ! -e $work/$1/membership.json && ! -e $work/$1/report.html ]] ||
    fail "bank: $1: results were written"
}
bank bank-nomask && rm "$work/bank-nomask/mask.npy"
bank_error bank-nomask "bank-nomask/mask.npy not found"
bank bank-1d && { npy_header '<f8' '(8,)'; head -c 64 /dev/zero; } > "$work/bank-1d/logp.npy"
bank_error bank-1d "bank-1d/logp.npy has shape \[8\], expected \[N, J\]"
bank bank-shape && { npy_header '|b1' '(2, 2)'; printf '\x00\x01\x01\x00'; } > "$work/bank-shape/mask.npy"
bank_error bank-shape "bank-shape/mask.npy has shape \[2, 2\], expected \[4, 2\]"
bank bank-inf && { npy_header '<f8' '(4, 2)'; head -c 24 /dev/zero; printf '\x00\x00\x00\x00\x00\x00\xf0\x7f'; head -c 32 /dev/zero; } > "$work/bank-inf/logp.npy"
bank_error bank-inf "bank-inf/logp.npy has 1 infinite values (first: inf at example 1, model 1)"
# NaN is a missing model; here it takes example 1's only out-model.
bank bank-nan && { npy_header '<f8' '(4, 2)'; head -c 24 /dev/zero; printf '\x00\x00\x00\x00\x00\x00\xf8\x7f'; head -c 32 /dev/zero; } > "$work/bank-nan/logp.npy"
bank_error bank-nan "bank-nan/mask.npy: 1 examples have no out-model (every model with a finite log p trained on it), first example 1"
bank bank-noout && { npy_header '|b1' '(4, 2)'; printf '\x00\x01\x01\x01\x00\x01\x01\x00'; } > "$work/bank-noout/mask.npy"
bank_error bank-noout "bank-noout/mask.npy: 1 examples have no out-model.*first example 1"
bank bank-noin && { npy_header '|b1' '(4, 2)'; printf '\x00\x00\x01\x00\x00\x01\x01\x00'; } > "$work/bank-noin/mask.npy"
bank_error bank-noin "bank-noin/mask.npy: 1 examples have no in-model"
bank bank-two && { npy_header '|u1' '(4, 2)'; printf '\x00\x01\x02\x00\x00\x01\x01\x00'; } > "$work/bank-two/mask.npy"
bank_error bank-two "bank-two/mask.npy holds 2 at example 1, model 0; expected 0 or 1"
bank bank-labels && { npy_header '<f8' '(4,)'; head -c 32 /dev/zero; } > "$work/bank-labels/labels.npy"
bank_error bank-labels "bank-labels/labels.npy has shape \[4\] of double, expected \[4\] integers"
bank bank-imgn && { npy_header '|u1' '(3, 1, 2, 2)'; head -c 12 /dev/zero; } > "$work/bank-imgn/images.npy"
bank_error bank-imgn "bank-imgn/images.npy has shape \[3, 1, 2, 2\], expected \[4, C, H, W\] with C = 1 or 3"
bank bank-imgc && { npy_header '|u1' '(4, 2, 2, 2)'; head -c 32 /dev/zero; } > "$work/bank-imgc/images.npy"
bank_error bank-imgc "bank-imgc/images.npy has shape \[4, 2, 2, 2\], expected \[4, C, H, W\] with C = 1 or 3"
bank bank-img3 && { npy_header '|u1' '(4, 4)'; head -c 16 /dev/zero; } > "$work/bank-img3/images.npy"
bank_error bank-img3 "bank-img3/images.npy has shape \[4, 4\], expected \[4, C, H, W\]"
bank bank-imgv && { npy_header '<f8' '(4, 1, 1, 1)'; head -c 24 /dev/zero; printf '\x00\x00\x00\x00\x00\x00\x00\x40'; } > "$work/bank-imgv/images.npy"
bank_error bank-imgv "bank-imgv/images.npy holds values in \[0, 2\]"
expect_error "bank: not a directory" "none-bank is not a directory" "" score --bank "$work/none-bank"
expect_error "score: --run and --bank" "excludes" "" score --run "$work/a" --bank "$work/b"
expect_error "subsets: no out-models" "--subset-fraction" "$work/o3" run "${tiny[@]}" --design subsets --models 4 --subset-fraction 0.9 --out "$work/o3"
expect_error "unknown design" "--design" "$work/o3" run "${tiny[@]}" --design bootstrap --out "$work/o3"
expect_error "unknown LiRA variance" "--lira-variance" "$work/o3" run "${tiny[@]}" --lira-variance pooled --out "$work/o3"
bank bank-good
"$bin" score --bank "$work/bank-good" > "$work/stdout" 2>&1 || fail "a good 4 x 2 bank failed: $(tail -n 1 "$work/stdout")"
[[ -f $work/bank-good/scores.csv && -f $work/bank-good/membership.json ]] || fail "good bank: no results"
[[ -f $work/bank-good/report.html && -f $work/bank-good/summary.json ]] || fail "good bank: no report: $(cat "$work/stdout")"

# 4. Read-only and full file systems (tmpfs mounts; root or CAP_SYS_ADMIN needed).
try_mount() {  # DIR OPTIONS
  mkdir -p "$1"
  if mount -t tmpfs -o "$2" tmpfs "$1" 2> /dev/null; then
    mounts+=("$1")
    return 0
  fi
  return 1
}
if try_mount "$work/mnt-ro" size=16m,ro; then
  expect_error "read-only output directory" "mnt-ro/run.*Read-only file system" "$work/mnt-ro/run" run "${tiny[@]}" --out "$work/mnt-ro/run"
  # The same run made read-only after it started (config.json written, no job yet): the first
  # job's files cannot be written; once writable again the run finishes in that directory.
  mount -o remount,rw "$work/mnt-ro"
  "$bin" run "${tiny[@]}" --epochs 2 --out "$work/mnt-ro/run" > /dev/null 2>&1 || fail "good run on rw tmpfs failed"
  rm -rf "$work/mnt-ro/run/jobs/job-00001" "$work/mnt-ro/run/scores.csv"
  mount -o remount,ro "$work/mnt-ro"
  expect_error "read-only run directory (resume)" "Read-only file system" "$work/mnt-ro/run" run "${tiny[@]}" --epochs 2 --out "$work/mnt-ro/run"
  mount -o remount,rw "$work/mnt-ro"
  "$bin" run "${tiny[@]}" --epochs 2 --out "$work/mnt-ro/run" > "$work/stdout" 2>&1 || fail "run after remounting rw failed: $(tail -n 1 "$work/stdout")"
  grep -q "1 jobs trained, 1 resumed" "$work/stdout" || fail "resume after read-only: $(head -n 1 "$work/stdout")"
else
  echo "skip: read-only output directory (cannot mount tmpfs here: not root or no CAP_SYS_ADMIN)"
  printf '| read-only output directory | skipped: cannot mount tmpfs | | |\n' >> "$cases"
fi
if try_mount "$work/mnt-full" size=512k; then
  # 512 KiB: config.json fits, the first model.pt of the default 512-256 VAE (about 2.6 MB) does not.
  full=(--data fashion-mnist --limit 50 --epochs 1 --folds 2 --iw-samples 4 --threads 1 --progress none)
  expect_error "full disk" "mnt-full/run/jobs/job-00000/model.pt.*No space left on device" "$work/mnt-full/run" run "${full[@]}" --out "$work/mnt-full/run"
  [[ -f $work/mnt-full/run/config.json && ! -e $work/mnt-full/run/jobs/job-00000/result.json ]] ||
    fail "full disk: expected config.json and no result.json"
  [[ ! -e $work/mnt-full/run/jobs/job-00000/model.pt ]] || fail "full disk: a half-written model.pt was left"
  # Room again: the same directory resumes and finishes.
  mount -o remount,size=64m "$work/mnt-full"
  "$bin" run "${full[@]}" --out "$work/mnt-full/run" > "$work/stdout" 2>&1 || fail "run after freeing space failed: $(tail -n 1 "$work/stdout")"
  grep -q "2 jobs trained, 0 resumed" "$work/stdout" || fail "run after full disk: $(head -n 1 "$work/stdout")"
  if find "$work/mnt-full" -name '.*.tmp.*' | grep -q .; then fail "full disk: temporary files left"; fi
else
  echo "skip: full disk (cannot mount tmpfs here: not root or no CAP_SYS_ADMIN)"
  printf '| full disk | skipped: cannot mount tmpfs | | |\n' >> "$cases"
fi
echo "faults: all checks passed; cases and messages in $cases"
