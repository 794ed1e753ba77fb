// Shared pieces of the checkpoint readers and writers: the error type every bad file raises,
// exact positioned reads from a file descriptor, and the write-to-temporary-then-rename dance.

import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { processIsAlive } from '../env/process.js';

/**
 * A checkpoint file that cannot be read or written as asked. `file` is the path involved; the
 * message starts with it, then says what was wrong and what was expected.
 */
export class CheckpointError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
    this.file = file;
  }
}

// fs.readSync/read move at most 2 GiB - 1 per call; larger tensors are read in pieces of 1 GiB.
const MAX_IO_CHUNK = 1 << 30;

/** Fills `target` with the file's bytes from `position`; a short file is a CheckpointError naming `what`. */
export function readExactSync(fd: number, target: Uint8Array, position: number, file: string, what: string): void {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(MAX_IO_CHUNK, target.length - done);
    const got = fs.readSync(fd, target, done, want, position + done);
    if (got === 0) {
      throw new CheckpointError(file, `unexpected end of file while reading ${what} (needed ${target.length} bytes at offset ${position}, got ${done})`);
    }
    done += got;
  }
}

/** The asynchronous twin of readExactSync. */
export async function readExact(fh: fs.promises.FileHandle, target: Uint8Array, position: number, file: string, what: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(MAX_IO_CHUNK, target.length - done);
    const { bytesRead } = await fh.read(target, done, want, position + done);
    if (bytesRead === 0) {
      throw new CheckpointError(file, `unexpected end of file while reading ${what} (needed ${target.length} bytes at offset ${position}, got ${done})`);
    }
    done += bytesRead;
  }
}

/** Writes all of `bytes` at the descriptor's current position. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, Math.min(MAX_IO_CHUNK, bytes.length - done));
  }
}

export async function writeAll(fh: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(MAX_IO_CHUNK, bytes.length - done));
    done += bytesWritten;
  }
}

/**
 * A fresh name next to `path` (same folder, hence same file system, so the final rename is
 * atomic). The random part keeps two concurrent writers of the same file apart.
 */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMPORARY = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;


/**
 * Deletes the temporaries of `path` (temporaryPathFor's names) left by writers that no longer
 * run: a writer killed with SIGKILL cannot clean up, and a 1 GB checkpoint's temporary would
 * otherwise stay for good. A temporary whose writer is alive (this process included) is another
 * save in progress and is kept; so is anything not of the exact pattern. Best effort: a folder
 * that cannot be listed or a file that cannot be removed leaves the save itself unaffected.
 */
export function removeStaleTemporaries(path: string): string[] {
  const dir = dirname(path);
  const name = basename(path);
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const m = TEMPORARY.exec(entry);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    try {
      fs.rmSync(join(dir, entry), { force: true });
      removed.push(join(dir, entry));
    } catch {
      // Someone else's file we may not delete: not this save's business.
    }
  }
  return removed;
}

/**
 * Runs `write` on a temporary file descriptor and renames the result to `path` only once it is
 * complete and flushed: a crash or an error midway leaves `path` as it was (absent or old).
 */
export function atomicWriteSync(path: string, write: (fd: number) => void): void {
  removeStaleTemporaries(path);
  const tmp = temporaryPathFor(path);
  const fd = fs.openSync(tmp, 'wx');
  let ok = false;
  try {
    write(fd);
    fs.fsyncSync(fd);
    ok = true;
  } finally {
    fs.closeSync(fd);
    if (!ok) fs.rmSync(tmp, { force: true });
  }
  try {
    fs.renameSync(tmp, path);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export async function atomicWrite(path: string, write: (fh: fs.promises.FileHandle) => Promise<void>): Promise<void> {
  removeStaleTemporaries(path);
  const tmp = temporaryPathFor(path);
  const fh = await fs.promises.open(tmp, 'wx');
  let ok = false;
  try {
    await write(fh);
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await fs.promises.rm(tmp, { force: true });
  }
  try {
    await fs.promises.rename(tmp, path);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}
