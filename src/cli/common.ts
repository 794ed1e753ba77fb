// What every `ved` command shares: the command contract, argument parsing with one-line errors,
// number checks, the package root (for the bundled model and the version), and model locating.

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { packageJson } from '../env/package.js';

/** One subcommand of `ved`: main.ts dispatches to `run` with the arguments after its name. */
export interface Command {
  name: string;
  /** One line for `ved --help`. */
  summary: string;
  /** The full text of `ved NAME --help`. */
  help: string;
  /** Resolves to the exit code. Throws UsageError (exit 2) or any Error (exit 1, message printed). */
  run(argv: string[]): Promise<number>;
}

/** A mistake in how the command was called: exit code 2, as getopt-style tools do. */
export class UsageError extends Error {}

/** Exit codes: 0 done, 1 the work failed (missing file, bad model), 2 the command line is wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** What `parse` returns: each option's value (string or boolean, absent when not given). */
export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { type: 'string' } ? string : boolean } & { help?: boolean };
  positionals: string[];
}

/**
 * util.parseArgs with `--help`/`-h` added and its errors rewritten into one line that names the
 * command and the option ("ved ocr: unknown option --foo (see 'ved ocr --help')").
 */
export function parse<O extends Options>(command: string, argv: string[], options: O): Parsed<O> {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  try {
    const { values, positionals } = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
    return { values: values as Parsed<O>['values'], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const see = `(see 'ved ${command} --help')`;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'([^']+)'/.exec(err.message)?.[1] ?? err.message;
      throw new UsageError(`ved ${command}: unknown option ${name} ${see}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(-[^' ]+)/.exec(err.message)?.[1];
      const flag = name && Object.entries(options).find(([k, o]) => `--${k}` === name || (o.short && `-${o.short}` === name));
      if (flag && flag[1].type === 'string') throw new UsageError(`ved ${command}: ${name} needs a value ${see}`);
      if (flag && flag[1].type === 'boolean') throw new UsageError(`ved ${command}: ${name} takes no value ${see}`);
    }
    throw new UsageError(`ved ${command}: ${err.message.split('\n')[0]} ${see}`);
  }
}

/** A positive integer option value, or a UsageError naming the option. */
export function positiveInt(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`ved ${command}: ${flag} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/**
 * A --max-image-pixels value as loadImage options: N as PIL's Image.MAX_IMAGE_PIXELS (a warning
 * over N pixels, refused over 2 × N), 0 or 'none' for no limit, absent for PIL's default. The
 * option's name goes along so that the refusal tells a command-line user what to change.
 */
export function maxImagePixelsFlag(command: string, value: string | undefined): { maxImagePixels?: number | null; maxImagePixelsOption: string } {
  const maxImagePixelsOption = '--max-image-pixels';
  if (value === undefined) return { maxImagePixelsOption };
  const v = value.trim().toLowerCase();
  if (v === 'none' || v === '0') return { maxImagePixels: null, maxImagePixelsOption };
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`ved ${command}: --max-image-pixels must be a pixel count, or 0 or 'none' for no limit, got '${value}'`);
  }
  return { maxImagePixels: Number(v), maxImagePixelsOption };
}

/** A --dtype value: the weights generate() computes with (VisionEncoderDecoderModel.dtype). */
export function dtypeFlag(command: string, value: string | undefined): 'float32' | 'int8' {
  const dtype = value ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int8') throw new UsageError(`ved ${command}: --dtype must be float32 or int8, got '${dtype}'`);
  return dtype;
}

export { packageRoot } from '../env/package.js';

export function packageVersion(): string {
  return packageJson().version ?? 'unknown';
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Checks a model argument before anything is loaded: an existing folder must hold config.json;
 * otherwise it must look like a hub id (OWNER/NAME). Returns what to give from_pretrained.
 */
export function checkModelArg(command: string, flag: string, value: string): string {
  if (existsSync(value)) {
    if (!statSync(value).isDirectory()) throw new Error(`ved ${command}: ${flag} ${value} is a file; expected a model folder (config.json, model.safetensors, ...)`);
    if (!existsSync(join(value, 'config.json'))) throw new Error(`ved ${command}: ${flag} ${value} has no config.json; expected a model folder saved by save_pretrained`);
    return resolve(value);
  }
  if (HUB_ID.test(value)) return value;
  throw new Error(`ved ${command}: ${flag} ${value}: no such folder, and not a hub model id (OWNER/NAME)`);
}

/** A status line on stderr: rewritten in place on a terminal, one line per update otherwise. */
export class Progress {
  private last = '';
  constructor(private readonly tty = process.stderr.isTTY === true) {}
  update(text: string): void {
    if (this.tty) process.stderr.write(`\r${text}${' '.repeat(Math.max(0, this.last.length - text.length))}`);
    else process.stderr.write(`${text}\n`);
    this.last = text;
  }
  done(): void {
    if (this.tty && this.last) process.stderr.write('\n');
    this.last = '';
  }
}
