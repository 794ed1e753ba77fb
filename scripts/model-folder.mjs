// Writing a model folder from a script (grow-encoder, average-models): the model's config,
// generation config and weights, with the source folder's tokenizer and preprocessor files beside
// them, in a temporary folder renamed into place, so a stopped script leaves no half folder.
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const PROCESSOR_FILE = /^(tokenizer.*|preprocessor_config|special_tokens_map|vocab|merges)\.(json|txt)$/;

export async function saveModelFolder(model, sourceDir, out) {
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await model.save_pretrained(tmp);
  for (const f of readdirSync(sourceDir)) if (PROCESSOR_FILE.test(f)) copyFileSync(join(sourceDir, f), join(tmp, f));
  renameSync(tmp, out);
}
