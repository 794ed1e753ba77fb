// `ved caption IMAGE... --model M`: image captioning with any VisionEncoderDecoder checkpoint.
import type { Command } from './common.js';
import { generateHelp, runGenerate } from './generate.js';

export const caption: Command = {
  name: 'caption',
  summary: 'describe images in words with a captioning model',
  help: generateHelp('caption'),
  run: (argv) => runGenerate('caption', argv),
};
