// A restricted Python pickle interpreter: it builds plain data (None, bools, ints, floats,
// strings, bytes, tuples, lists, dicts, sets) and nothing else. The only way a pickle can reach
// code is through GLOBAL/STACK_GLOBAL + REDUCE, and here every global goes through the caller's
// `findClass`, which returns a PickleCallable (a JavaScript function the caller wrote) or throws.
// Opcodes that instantiate arbitrary classes (INST, OBJ, NEWOBJ, extension registry) are refused.
// Python's own semantics: pickletools.py / Modules/_pickle.c; opcode names are theirs.

import { CheckpointError } from './io.js';

/** A global the caller allows to be called by REDUCE, with the pickled argument tuple. */
export class PickleCallable {
  constructor(
    readonly qualname: string,
    readonly fn: (args: readonly unknown[]) => unknown,
  ) {}
}

/** Python tuples are frozen arrays; lists are ordinary arrays. */
export const isTuple = (v: unknown): v is readonly unknown[] => Array.isArray(v) && Object.isFrozen(v);

export interface UnpickleOptions {
  /** For error messages: the file, and the pickle inside it (e.g. 'archive/data.pkl'). */
  file: string;
  name: string;
  /** Resolves `module.name`; throws to refuse it. */
  findClass: (module: string, name: string) => unknown;
  /** Resolves a persistent id (torch: a storage reference); throws to refuse it. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Start offset in `bytes` (legacy torch files hold several pickles back to back). */
  start?: number;
}

const MARK = Symbol('mark');

/** Runs the pickle in `bytes` from `start`; returns its value and the offset just after STOP. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): { value: unknown; end: number } {
  const { file, name, findClass, persistentLoad } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = options.start ?? 0;
  let opPos = pos;
  let op = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (problem: string): never => {
    throw new CheckpointError(file, `pickle ${name}: ${problem} (opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opPos})`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail(`truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow (malformed pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow (malformed pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) fail('no MARK to pop to (malformed pickle)');
    stack = previous!;
    return items;
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) fail('truncated: missing end of line');
    const text = latin1.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    return text;
  };
  const str = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const int = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const littleEndianSigned = (at: number, n: number): number | bigint => {
    if (n === 0) return 0;
    // Building a BigInt byte by byte is quadratic; no state dict needs a 4096-bit integer.
    if (n > 512) fail(`integer of ${n} bytes is too large`);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
    if (bytes[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return int(v);
  };
  const parseIntText = (text: string): number | bigint => {
    const t = text.endsWith('L') ? text.slice(0, -1) : text;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal ${JSON.stringify(text)}`);
    return int(BigInt(t));
  };
  const memoGet = (key: number): unknown => {
    if (!memo.has(key)) fail(`memo key ${key} was never stored (malformed pickle)`);
    return memo.get(key);
  };
  const memoPut = (key: number): void => {
    memo.set(key, top());
  };
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof Map)) fail(`SETITEM(S) on ${typeName(dict)}, expected a dict`);
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list) || isTuple(list)) fail(`APPEND(S) on ${typeName(list)}, expected a list`);
    for (const item of items) (list as unknown[]).push(item);
  };
  const global = (module: string, qualname: string): unknown => findClass(module, qualname);
  const persistent = (pid: unknown): unknown => {
    if (!persistentLoad) fail('persistent ids are not allowed here');
    return persistentLoad!(pid);
  };

  for (;;) {
    opPos = pos;
    if (pos >= bytes.length) fail('truncated: no STOP opcode');
    op = bytes[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        if (bytes[need(1)]! > 5) fail(`unsupported pickle protocol ${bytes[pos - 1]}`);
        break;
      case 0x95: // FRAME: a length prefix for buffering; the opcodes inside are read as usual
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP with ${stack.length} values on the stack (malformed pickle)`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      // Constants and numbers
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(bytes[need(1)]!); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: { // LONG1
        const n = bytes[need(1)]!;
        stack.push(littleEndianSigned(need(n), n));
        break;
      }
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) fail('LONG4 with a negative length');
        stack.push(littleEndianSigned(need(n), n));
        break;
      }
      case 0x49: { // INT (protocol 0): "00"/"01" are False/True
        const text = line();
        stack.push(text === '00' ? false : text === '01' ? true : parseIntText(text));
        break;
      }
      case 0x4c: stack.push(parseIntText(line())); break; // LONG (protocol 0)
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x46: { // FLOAT (protocol 0)
        const text = line().trim();
        const v = Number(text);
        if (text === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(text))) fail(`bad float literal ${JSON.stringify(text)}`);
        stack.push(v);
        break;
      }

      // Strings and bytes
      case 0x58: stack.push(str(view.getUint32(need(4), true))); break; // BINUNICODE
      case 0x8c: stack.push(str(bytes[need(1)]!)); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64(view, need(8), fail))); break; // BINUNICODE8
      case 0x54: { // BINSTRING (Python 2 str): bytes, read as latin-1 text
        const n = view.getInt32(need(4), true);
        const at = need(n);
        stack.push(latin1.decode(bytes.subarray(at, at + n)));
        break;
      }
      case 0x55: { // SHORT_BINSTRING
        const n = bytes[need(1)]!;
        const at = need(n);
        stack.push(latin1.decode(bytes.subarray(at, at + n)));
        break;
      }
      case 0x42: case 0x43: case 0x8e: case 0x96: { // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
        const n = op === 0x42 ? view.getUint32(need(4), true) : op === 0x43 ? bytes[need(1)]! : u64(view, need(8), fail);
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }

      // Containers
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      // (popMark swaps `stack`, so it must run before `stack.push` picks its receiver.)
      case 0x74: { const items = popMark(); stack.push(Object.freeze(items)); break; } // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x61: { const item = pop(); append(top(), [item]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail(`ADDITEMS on ${typeName(set)}, expected a set`);
        for (const item of items) (set as Set<unknown>).add(item);
        break;
      }
      case 0x91: { const items = popMark(); stack.push(Object.freeze(new Set(items))); break; } // FROZENSET

      // Memo
      case 0x71: memoPut(bytes[need(1)]!); break; // BINPUT
      case 0x72: memoPut(view.getUint32(need(4), true)); break; // LONG_BINPUT
      case 0x70: memoPut(Number(parseIntText(line()))); break; // PUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: stack.push(memoGet(bytes[need(1)]!)); break; // BINGET
      case 0x6a: stack.push(memoGet(view.getUint32(need(4), true))); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(Number(parseIntText(line())))); break; // GET

      // The only ways to code: globals (through findClass), calls (only of PickleCallable), state.
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const qualname = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof qualname !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, qualname as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleCallable)) fail(`REDUCE on ${typeName(callable)}, which is not an allowed callable`);
        if (!isTuple(args)) fail(`REDUCE arguments must be a tuple, got ${typeName(args)}`);
        stack.push((callable as PickleCallable).fn(args as readonly unknown[]));
        break;
      }
      case 0x62: { // BUILD: only dicts (an OrderedDict's attributes such as torch's `_metadata`)
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) fail(`BUILD (set object state) on ${typeName(obj)} is not allowed`);
        PICKLED_STATE.set(obj as Map<unknown, unknown>, state);
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID

      case 0x69: fail('INST (instantiate an arbitrary class) is not allowed'); break;
      case 0x6f: fail('OBJ (instantiate an arbitrary class) is not allowed'); break;
      case 0x81: case 0x92: fail('NEWOBJ (instantiate an arbitrary class) is not allowed'); break;
      case 0x82: case 0x83: case 0x84: fail('extension-registry globals (EXT1/2/4) are not allowed'); break;
      default:
        fail(`unsupported or unknown opcode`);
    }
  }
}

/** The state a BUILD opcode gave a dict (torch's OrderedDict `_metadata`), kept out of the way. */
export const PICKLED_STATE = new WeakMap<Map<unknown, unknown>, unknown>();

function u64(view: DataView, at: number, fail: (p: string) => never): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is impossibly large`);
  return Number(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleCallable) return v.qualname;
  if (isTuple(v)) return 'a tuple';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Set) return 'a set';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') {
    // Markers for allowed globals (torch storage classes...) carry their Python name.
    const qualname = (v as { qualname?: unknown }).qualname;
    return typeof qualname === 'string' ? qualname : ((v as object).constructor?.name ?? 'an object');
  }
  return `a ${typeof v}`;
}
