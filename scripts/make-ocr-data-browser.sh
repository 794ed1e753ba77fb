#!/usr/bin/env bash
# The browser-drawn training data of the bundled OCR model's fine-tuning (run 5 in its model card):
#   DATA/c21, DATA/c22   30,000 lines each asked for (seeds 21 and 22), drawn by Chromium in the
#                        @fontsource families, normalised by the library's layout code; lines the
#                        layout would not read as one crop are left out (about 13%)
#   DATA/bval            400 asked for (seed 3), the validation set
#   DATA/btrain          c21 + c22 in one imagefolder (symbolic links), the training set
# Two generators run at once (one per core); about 20 minutes here. Needs Debian's chromium and
# the dev dependencies (npm install). Usage: scripts/make-ocr-data-browser.sh DATA
set -euo pipefail
DATA=${1:?usage: scripts/make-ocr-data-browser.sh DATA}
cd "$(dirname "$0")/.."
node scripts/ocr-train-lines.mjs "$DATA/c21" 30000 21 & a=$!
node scripts/ocr-train-lines.mjs "$DATA/c22" 30000 22 & b=$!
wait $a $b
node scripts/ocr-train-lines.mjs "$DATA/bval" 400 3
mkdir -p "$DATA/btrain/images"
node -e '
const fs = require("fs"), path = require("path");
const data = path.resolve(process.argv[1]);
const rows = [];
for (const set of ["c21", "c22"]) {
  for (const line of fs.readFileSync(path.join(data, set, "metadata.jsonl"), "utf8").trim().split("\n")) {
    const row = JSON.parse(line);
    const name = "images/" + set + "-" + path.basename(row.file_name);
    fs.rmSync(path.join(data, "btrain", name), { force: true });
    fs.symlinkSync(path.join(data, set, row.file_name), path.join(data, "btrain", name));
    rows.push(JSON.stringify({ file_name: name, text: row.text }));
  }
}
fs.writeFileSync(path.join(data, "btrain", "metadata.jsonl"), rows.join("\n") + "\n");
console.log(`${rows.length} lines in ${data}/btrain`);
' "$DATA"
