// `ved synth OUT`: render synthetic printed text lines into an imagefolder dataset (the data the
// bundled OCR model is trained on).

import { generateTextLines } from '../training/synthetic.js';
import { parse, positiveInt, Progress, UsageError, type Command } from './common.js';

const HELP = `Usage: ved synth [options] OUT

Render synthetic printed text lines (20 font families, sizes, weights, colours, paper,
noise, blur, slight rotation; words, sentences, numbers, dates, prices, codes) into OUT as an
imagefolder dataset: OUT/images/*.png and OUT/metadata.jsonl rows {"file_name", "text"}.
The same seed and options give the same files.

Options:
  --count N        number of lines (default 1000)
  --seed N         seed (default 0)
  --height PX      image height in pixels (default 48)
  --min-length N   shortest text in characters (default 1)
  --max-length N   longest text in characters (default 40)
  --gray           write grayscale PNGs (default RGB)
  --overwrite      replace an existing metadata.jsonl in OUT
  --json           print a JSON summary
  -h, --help       show this help
`;

export const synth: Command = {
  name: 'synth',
  summary: 'render synthetic printed text lines into an imagefolder dataset',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('synth', argv, {
      count: { type: 'string' },
      seed: { type: 'string' },
      height: { type: 'string' },
      'min-length': { type: 'string' },
      'max-length': { type: 'string' },
      gray: { type: 'boolean' },
      overwrite: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`ved synth: expected one output folder, got ${positionals.length} (see 'ved synth --help')`);
    const seedText = values.seed ?? '0';
    if (!/^\d+$/.test(seedText)) throw new UsageError(`ved synth: --seed must be a non-negative integer, got '${seedText}'`);
    const count = positiveInt('synth', '--count', values.count) ?? 1000;
    const progress = new Progress();
    let lastShown = 0;
    const result = await generateTextLines({
      out: positionals[0]!,
      count,
      seed: Number(seedText),
      height: positiveInt('synth', '--height', values.height) ?? 48,
      min_length: positiveInt('synth', '--min-length', values['min-length']) ?? 1,
      max_length: positiveInt('synth', '--max-length', values['max-length']) ?? 40,
      color: values.gray ? 'gray' : 'rgb',
      overwrite: values.overwrite ?? false,
      on_progress: (done, total) => {
        const now = Date.now();
        if (done === total || now - lastShown > 500) {
          lastShown = now;
          progress.update(`ved synth: ${done}/${total} lines`);
        }
      },
    });
    progress.done();
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${result.count} lines in ${result.out} (${result.lines_per_second.toFixed(0)} lines/s)\n`);
    return 0;
  },
};
