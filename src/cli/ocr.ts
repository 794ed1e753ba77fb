// `ved ocr IMAGE...`: text recognition; without --model, the model bundled with the package.
import type { Command } from './common.js';
import { generateHelp, runGenerate } from './generate.js';

export const ocr: Command = {
  name: 'ocr',
  summary: 'read the text in images (default: the bundled OCR model)',
  help: generateHelp('ocr'),
  run: (argv) => runGenerate('ocr', argv),
};
