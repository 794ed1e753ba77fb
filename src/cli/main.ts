#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8's concurrent GC threads otherwise compete with ONNX Runtime's for the
// cores (measured on 2 cores: the first decode step after the encoder ran over 1.3x slower in 13 of 48
// captions, none with the flag).
// The `ved` command: a table of subcommands, each in its own file exporting a Command.
// To add one (train, export, ...): write src/cli/<name>.ts exporting a Command and add it to
// COMMANDS below; help, dispatch and error handling need nothing else.

import { EXIT_FAILURE, EXIT_USAGE, packageVersion, UsageError, type Command } from './common.js';

/**
 * Each command's module, imported only when that command runs: `ved ocr` on one image does not
 * pay for synth's fonts and sharp, export's or train's modules (about 0.3 s of imports).
 */
const COMMAND_MODULES: Readonly<Record<string, () => Promise<Command>>> = {
  ocr: async () => (await import('./ocr.js')).ocr,
  caption: async () => (await import('./caption.js')).caption,
  info: async () => (await import('./info.js')).info,
  eval: async () => (await import('./eval.js')).evaluate,
  synth: async () => (await import('./synth.js')).synth,
  train: async () => (await import('./train.js')).train,
  export: async () => (await import('./export.js')).exportCommand,
  serve: async () => (await import('./serve.js')).serve,
  demo: async () => (await import('./demo.js')).demo,
};
const NAMES = Object.keys(COMMAND_MODULES);

/** Every command, loaded (for the help text). */
export async function commands(): Promise<Command[]> {
  return Promise.all(NAMES.map((n) => COMMAND_MODULES[n]!()));
}

async function mainHelp(): Promise<string> {
  const COMMANDS = await commands();
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: ved <command> [options]

Vision encoder-decoder models (TrOCR, Donut, image captioning) on ONNX Runtime.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help ('ved <command> --help' for a command's options)
  -v, --version  print the version

Exit status: 0 success, 1 the work failed (unreadable file, bad model), 2 bad command line.
`;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    // `ved help CMD` as a courtesy alias of `ved CMD --help`.
    const load = first === 'help' && rest[0] && Object.hasOwn(COMMAND_MODULES, rest[0]) ? COMMAND_MODULES[rest[0]] : undefined;
    if (first === 'help' && rest[0] && !load) throw new UsageError(`ved: unknown command '${rest[0]}' (commands: ${NAMES.join(', ')})`);
    process.stdout.write(load ? (await load()).help : await mainHelp());
    return first === undefined ? EXIT_USAGE : 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`ved: unknown option ${first} (see 'ved --help')`);
  const load = Object.hasOwn(COMMAND_MODULES, first) ? COMMAND_MODULES[first] : undefined;
  if (!load) throw new UsageError(`ved: unknown command '${first}' (commands: ${NAMES.join(', ')}; see 'ved --help')`);
  const command = await load();
  return command.run(rest).catch((e: unknown) => {
    // Errors from the library name the file or option but not the command: say which ran.
    if (e instanceof Error && !e.message.startsWith('ved')) e.message = `ved ${command.name}: ${e.message}`;
    throw e;
  });
}

// `ved ocr dir/ | head -1`: the reader leaving is not an error of ours; stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

/**
 * Leaves as soon as the command is done and its output written. Letting the process end by
 * itself (the event loop draining, ONNX Runtime's sessions and threads torn down) took 25 ms
 * after a `ved ocr` line's last statement, against 13 ms this way (6 runs each, interleaved):
 * 12 ms of a 0.36 s process. Writes to a pipe can still be queued (asynchronous outside Linux),
 * so the exit waits for both streams to flush.
 */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (e: unknown) => {
    // One line on stderr: the message already names the command, the argument and the fix.
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${message.split('\n')[0]}\n`);
    if (process.env.VED_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    exit(e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE);
  },
);
