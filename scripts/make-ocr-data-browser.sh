#!/usr/bin/env bash
# The browser-drawn training data of the bundled OCR model's fine-tuning (runs 5 and 6 in its
# model card):
#   DATA/c21 .. DATA/c24  30,000 lines each asked for (seeds 21 to 24), drawn by Chromium in the
#                         @fontsource families, normalised by the library's layout code; lines the
#                         layout would not read as one crop are left out (about 14%)
#   DATA/c25, DATA/c26    the same with half the non-random lines from the word-list dictionary
#                         (--dictionary 0.5: any words, URLs, e-mail addresses, file names)
#   DATA/c27, DATA/c28    --dictionary 0.7 (seeds 27, 28)
#   DATA/c29, DATA/c30    --dictionary 0.7 --jpeg 0.35 --italic 0.3 (seeds 29, 30): more of the
#                         held-out sets' weak spots, for the round after run 8
#   DATA/c31, DATA/c32    the same (seeds 31, 32), for run 10
#   DATA/c33, DATA/c34    the same (seeds 33, 34), for run 11: the first 13,152 and 13,248 lines asked
#                         for, where the generators stood when run 11 moved on to them
#   DATA/c35, DATA/c36    the same with --long 0.3 --chunks (seeds 35, 36): lines of 41–64
#                         characters, and lines the layout cuts kept as their chunks, for the
#                         round after run 11
#   DATA/c37, DATA/c38    the same (seeds 37, 38), drawn one at a time at nice 19 beside run 12's
#                         training, for the round after run 12
#   DATA/c39, DATA/c40    the same with --small 0.3 (seeds 39, 40): about half the lines at
#                         10–16 px, the weakest size after round 8, for the round after it
#   DATA/bval             400 asked for (seed 3), the validation set
#   DATA/btrain           c21 + c22 in one imagefolder (symbolic links), run 5's training set
#   DATA/b3train          c21 .. c26, run 6's
#   DATA/b4train          c21 .. c28, run 8's
#   DATA/b5train          c21 .. c30
#   DATA/b6train          c21 .. c32, run 10's
#   DATA/b7train          c21 .. c34, run 11's (from its step 860)
#   DATA/b8train          c21 .. c36, run 12's
#   DATA/b9train          c21 .. c38, run 13's
#   DATA/b10train         c21 .. c40
# Runs 6 and 8 used what the generators had made when they were stopped (the counts are in the model
# card); a set stopped part-way is a prefix of the full one.
# Two generators run at once (one per core); about 20 minutes a pair here. Needs Debian's
# chromium and the dev dependencies (npm install). Usage: scripts/make-ocr-data-browser.sh DATA
# A generator stopped part-way resumes where it stopped when run again with the same arguments.
set -euo pipefail
DATA=${1:?usage: scripts/make-ocr-data-browser.sh DATA}
cd "$(dirname "$0")/.."
node scripts/ocr-train-lines.mjs "$DATA/c21" 30000 21 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c22" 30000 22 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c23" 30000 23 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c24" 30000 24 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c25" 30000 25 --dictionary 0.5 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c26" 30000 26 --dictionary 0.5 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c27" 30000 27 --dictionary 0.7 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c28" 30000 28 --dictionary 0.7 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c29" 30000 29 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c30" 30000 30 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c31" 30000 31 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c32" 30000 32 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c33" 13152 33 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c34" 13248 34 --dictionary 0.7 --jpeg 0.35 --italic 0.3 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c35" 30000 35 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c36" 30000 36 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c37" 30000 37 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c38" 30000 38 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/c39" 30000 39 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks --small 0.3 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c40" 30000 40 --dictionary 0.7 --jpeg 0.35 --italic 0.3 --long 0.3 --chunks --small 0.3 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/bval" 400 3
# join_sets OUT SET...: one imagefolder of symbolic links to the sets' images
join_sets() {
node -e '
const fs = require("fs"), path = require("path");
const [data, out, ...sets] = [path.resolve(process.argv[1]), ...process.argv.slice(2)];
fs.mkdirSync(path.join(data, out, "images"), { recursive: true });
const rows = [];
for (const set of sets) {
  for (const line of fs.readFileSync(path.join(data, set, "metadata.jsonl"), "utf8").trim().split("\n")) {
    const row = JSON.parse(line);
    const name = "images/" + set + "-" + path.basename(row.file_name);
    fs.rmSync(path.join(data, out, name), { force: true });
    fs.symlinkSync(path.join(data, set, row.file_name), path.join(data, out, name));
    rows.push(JSON.stringify({ file_name: name, text: row.text }));
  }
}
fs.writeFileSync(path.join(data, out, "metadata.jsonl"), rows.join("\n") + "\n");
console.log(`${rows.length} lines in ${data}/${out}`);
' "$DATA" "$@"
}
join_sets btrain c21 c22
join_sets b3train c21 c22 c23 c24 c25 c26
join_sets b4train c21 c22 c23 c24 c25 c26 c27 c28
join_sets b5train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30
join_sets b6train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32
join_sets b7train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34
join_sets b8train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36
join_sets b9train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36 c37 c38
join_sets b10train c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36 c37 c38 c39 c40
