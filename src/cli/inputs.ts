// Image arguments → image files: a file as given, a directory's images (sorted by name, not
// recursive), or a glob with `*`, `?` and `**`, expanded here because a quoted pattern reaches us
// unexpanded and Node 20 has no fs.globSync.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

/** Extensions read as images when a directory or a glob is expanded (what the decoder handles). */
export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.bmp', '.webp', '.tif', '.tiff']);

export const isImageFile = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

export const hasGlob = (s: string): boolean => /[*?]/.test(s);

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One path segment's pattern as a RegExp: `*` any run, `?` one character, never '/'. */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (const ch of segment) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Paths matching a glob, sorted. `**` as a whole segment matches any number of folders (zero
 * included). As in a shell, wildcards do not match names starting with '.' unless the pattern
 * segment does.
 */
export function glob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  if (absolute) segments.shift();
  // The folder the search starts in: the segments before the first wildcard.
  let base = absolute ? '/' : '.';
  let i = 0;
  while (i < segments.length - 1 && !hasGlob(segments[i]!)) base = join(base, segments[i++]!);
  const rest = segments.slice(i);
  const out = new Set<string>();
  const show = (p: string) => (absolute || pattern.startsWith('./') ? p : p.replace(/^\.\//, ''));

  const walk = (dir: string, k: number): void => {
    if (k === rest.length) {
      out.add(dir);
      return;
    }
    const seg = rest[k]!;
    if (seg === '**') {
      walk(dir, k + 1); // zero folders
      for (const e of entries(dir)) if (e.dir && !e.name.startsWith('.')) walk(join(dir, e.name), k);
      return;
    }
    if (!hasGlob(seg)) {
      const p = join(dir, seg);
      if (existsSync(p)) walk(p, k + 1);
      return;
    }
    const re = segmentRegExp(seg);
    for (const e of entries(dir)) {
      if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
      if (!re.test(e.name)) continue;
      if (k + 1 < rest.length && !e.dir) continue;
      walk(join(dir, e.name), k + 1);
    }
  };
  walk(base, 0);
  return [...out].map(show).sort(byName);
}

function entries(dir: string): { name: string; dir: boolean }[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((d) => ({
      name: d.name,
      dir: d.isDirectory() || (d.isSymbolicLink() && statSync(join(dir, d.name), { throwIfNoEntry: false })?.isDirectory() === true),
    }));
  } catch {
    return []; // unreadable or not a folder: nothing matches there, as in a shell
  }
}

/**
 * Every argument → image files, in argument order. A file is kept as given; a folder gives its
 * image files; a glob gives the image files it matches. Throws naming the argument when one
 * gives nothing.
 */
export function expandImageArgs(command: string, args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    const st = statSync(arg, { throwIfNoEntry: false });
    if (st?.isFile()) {
      files.push(arg);
    } else if (st?.isDirectory()) {
      const found = readdirSync(arg, { withFileTypes: true })
        .filter((d) => (d.isFile() || d.isSymbolicLink()) && isImageFile(d.name) && !d.name.startsWith('.'))
        .map((d) => join(arg, d.name))
        .filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile())
        .sort(byName);
      if (found.length === 0) throw new Error(`ved ${command}: folder ${arg} has no image files (${[...IMAGE_EXTENSIONS].join(' ')})`);
      files.push(...found);
    } else if (hasGlob(arg)) {
      const found = glob(arg).filter((p) => isImageFile(p) && statSync(p, { throwIfNoEntry: false })?.isFile());
      if (found.length === 0) throw new Error(`ved ${command}: no image files match ${arg}`);
      files.push(...found);
    } else {
      throw new Error(`ved ${command}: image not found: ${arg}`);
    }
  }
  return files;
}
