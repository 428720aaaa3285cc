#!/usr/bin/env bash
# Opens the report of a small run in headless Chromium: the page loads with no error (a Content
# Security Policy turns any network request into one), every chart renders, text from paths shows
# as text. Keeps a screenshot. Usage: report_test.sh BUILD/memscope WORKDIR ARTIFACT_DIR
set -euo pipefail
bin=$1
work=$2
artifacts=$3
rm -rf "$work" && mkdir -p "$work" "$artifacts"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v chromium > /dev/null || fail "chromium is not installed (scripts/setup.sh installs it)"
# A run directory whose name holds markup characters; two repeats, so the split-half scatter is drawn.
out="$work/run<b>bold</b>&\"q'"
"$bin" run --data fashion-mnist --limit 240 --folds 3 --repeats 2 --epochs 2 --eval-every 1 --hidden 64,32 --latent 8 \
  --iw-samples 8 --progress none --out "$out" > "$work/run.out"
grep -q "report: $out/report.html" "$work/run.out" || fail "run did not write the report: $(cat "$work/run.out")"
html="$out/report.html"
summary="$out/summary.json"
grep -q '"high_mem_central90_share"' "$summary" || fail "summary.json lacks high_mem_central90_share"
grep -q '"is_memorization"' "$summary" || fail "summary.json lacks is_memorization"
grep -q 'id="is-memorization"' "$out/report.html" || fail "the report lacks the 'Is it memorization?' section"
grep -q 'id="chart-spill"' "$out/report.html" || fail "the report lacks the M-versus-S scatter"
if grep -qE '(src|href)="(https?:)?//' "$html"; then fail "the report references a network resource"; fi
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --user-data-dir="$work/profile" --virtual-time-budget=20000)
cp "$html" "$work/report.html"  # a plain path for the browser
"${chrome[@]}" --dump-dom "file://$work/report.html" > "$work/dom.html" 2> "$work/chromium.log" || true
body=$(grep -o '<body[^>]*>' "$work/dom.html" | head -1)
echo "body: $body"
[[ $body == *'data-status="done"'* ]] || fail "charts did not finish rendering: $body"
[[ $body == *'data-errors="0"'* ]] || fail "the page reported errors: $body"
charts=$(sed -E 's/.*data-charts="([0-9]+)".*/\1/' <<< "$body")
rendered=$(sed -E 's/.*data-rendered="([0-9]+)".*/\1/' <<< "$body")
[[ $charts -ge 8 && $charts == "$rendered" ]] || fail "$rendered of $charts charts rendered"
[[ $(grep -o '<svg' "$work/dom.html" | wc -l) -ge $charts ]] || fail "fewer SVG charts than specs"
grep -q 'run&lt;b&gt;bold&lt;/b&gt;&amp;' "$work/dom.html" || fail "the run path was not escaped"
if grep -q '<b>bold</b>' "$work/dom.html"; then fail "markup from the path was interpreted"; fi
"${chrome[@]}" --window-size=1300,2600 --screenshot="$artifacts/report.png" "file://$work/report.html" 2>> "$work/chromium.log" || true
[[ -s "$artifacts/report.png" ]] || fail "no screenshot"

# The report of an external bank (score --bank) with images and labels, and of one without images: no
# error, every chart drawn (no training curves: a bank has none).
python3 "$(dirname "$0")/../../scripts/planted-bank.py" --images "$work/bank" 200 8
"$bin" score --bank "$work/bank" > "$work/bank.out" 2>&1 || fail "score --bank: $(tail -n 1 "$work/bank.out")"
python3 "$(dirname "$0")/../../scripts/planted-bank.py" "$work/bank-plain" 200 8
"$bin" score --bank "$work/bank-plain" > "$work/bank-plain.out" 2>&1 || fail "score --bank: $(tail -n 1 "$work/bank-plain.out")"
for b in bank bank-plain; do
  "${chrome[@]}" --dump-dom "file://$work/$b/report.html" > "$work/$b-dom.html" 2>> "$work/chromium.log" || true
  body=$(grep -o '<body[^>]*>' "$work/$b-dom.html" | head -1)
  echo "$b body: $body"
  [[ $body == *'data-status="done"'* && $body == *'data-errors="0"'* ]] || fail "$b report: $body"
  charts=$(sed -E 's/.*data-charts="([0-9]+)".*/\1/' <<< "$body")
  rendered=$(sed -E 's/.*data-rendered="([0-9]+)".*/\1/' <<< "$body")
  [[ $charts -ge 6 && $charts == "$rendered" ]] || fail "$b report: $rendered of $charts charts rendered"
done
"${chrome[@]}" --window-size=1300,2600 --screenshot="$artifacts/bank-report.png" "file://$work/bank/report.html" \
  2>> "$work/chromium.log" || true
echo "report test passed; screenshots: $artifacts/report.png, $artifacts/bank-report.png"
