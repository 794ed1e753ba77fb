#!/usr/bin/env bash
# The bundled OCR model's data, exactly as it was made (3 min 40 s on 2 cores):
#   DATA/train  40,000 `ved synth` lines (seed 1)      DATA/val   300 lines (seed 2)
#   DATA/rand   15,000 random-character lines (seed 11) DATA/test  500 held-out lines (seed 3)
#   DATA/mix    train + rand in one imagefolder (symbolic links), the training set
# Usage: scripts/make-ocr-data.sh DATA   (after npm install)
set -euo pipefail
DATA=${1:?usage: scripts/make-ocr-data.sh DATA}
cd "$(dirname "$0")/.."
ved() { node dist/src/cli/main.js "$@"; }
ved synth "$DATA/train" --count 40000 --seed 1 --height 40
ved synth "$DATA/val" --count 300 --seed 2 --height 40
ved synth "$DATA/test" --count 500 --seed 3 --height 40
node scripts/random-char-lines.mjs "$DATA/rand" 15000 11
mkdir -p "$DATA/mix/images"
node -e '
const fs = require("fs"), path = require("path");
const data = path.resolve(process.argv[1]);
const rows = [];
for (const [set, prefix] of [["train", "t"], ["rand", "r"]]) {
  for (const line of fs.readFileSync(path.join(data, set, "metadata.jsonl"), "utf8").trim().split("\n")) {
    const row = JSON.parse(line);
    const name = "images/" + prefix + path.basename(row.file_name);
    fs.rmSync(path.join(data, "mix", name), { force: true });
    fs.symlinkSync(path.join(data, set, row.file_name), path.join(data, "mix", name));
    rows.push(JSON.stringify({ ...row, file_name: name }));
  }
}
fs.writeFileSync(path.join(data, "mix", "metadata.jsonl"), rows.join("\n") + "\n");
console.log(`${rows.length} lines in ${data}/mix`);
' "$DATA"
