// A plain tensor: the same three fields as onnxruntime's Tensor (type, data, dims), so either
// can be handed to the other without a copy. Row-major, contiguous.

export type DataType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TypedArrayOf<T extends DataType> = T extends 'float32'
  ? Float32Array
  : T extends 'float64'
    ? Float64Array
    : T extends 'int64'
      ? BigInt64Array
      : T extends 'int32'
        ? Int32Array
        : T extends 'int16'
          ? Int16Array
          : T extends 'int8'
            ? Int8Array
            : T extends 'float16'
              ? Uint16Array
              : Uint8Array;

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

const ARRAY_OF: Record<DataType, { new (n: number): TensorData; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function bytesPerElement(type: DataType): number {
  return ARRAY_OF[type].BYTES_PER_ELEMENT;
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

type Nested = number | bigint | boolean | Nested[];

export class Tensor {
  readonly type: DataType;
  readonly data: TensorData;
  readonly dims: number[];

  constructor(type: DataType, data: TensorData | readonly number[] | readonly bigint[], dims: readonly number[]) {
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`Tensor: dims must be non-negative integers, got [${dims.join(', ')}]`);
    }
    const n = numel(dims);
    let arr: TensorData;
    if (Array.isArray(data)) {
      const A = ARRAY_OF[type];
      arr = new A(data.length);
      if (type === 'int64') {
        const a = arr as BigInt64Array;
        for (let i = 0; i < data.length; i++) a[i] = BigInt(data[i] as number | bigint);
      } else {
        const a = arr as Float32Array;
        for (let i = 0; i < data.length; i++) a[i] = Number(data[i]);
      }
    } else {
      arr = data as TensorData;
      const want = ARRAY_OF[type];
      if (!(arr instanceof want)) {
        throw new Error(`Tensor: type '${type}' needs a ${want.name}, got ${(arr as object).constructor.name}`);
      }
    }
    if (arr.length !== n) {
      throw new Error(`Tensor: data has ${arr.length} elements but dims [${dims.join(', ')}] need ${n}`);
    }
    this.type = type;
    this.data = arr;
    this.dims = [...dims];
  }

  get size(): number {
    return numel(this.dims);
  }

  /**
   * A tensor whose data is read on first use by `load` and may be dropped again (release()):
   * a weight whose bytes sit in a file, held in memory only while something reads it in
   * JavaScript. `source` names those bytes for good (file identity and offset), so a cache key
   * can stand for the data without reading it.
   */
  static lazy(type: DataType, dims: readonly number[], load: () => TensorData, source: string): Tensor {
    const t = Object.create(Tensor.prototype) as Tensor;
    Object.defineProperty(t, 'type', { value: type, enumerable: true });
    const n = numel(dims);
    const checked = () => {
      const d = load();
      if (!(d instanceof ARRAY_OF[type]) || d.length !== n) throw new Error(`Tensor.lazy: the loader gave ${d.length} ${d.constructor.name} elements for ${type} [${dims.join(', ')}]`);
      return d;
    };
    LAZY.set(t, { load: checked, source });
    unload(t, checked);
    Object.defineProperty(t, 'dims', { value: [...dims], enumerable: true });
    return t;
  }

  /** Drop the data of a lazy tensor (it is read again on next use); false for any other tensor. */
  release(): boolean {
    const lazy = LAZY.get(this);
    if (!lazy) return false;
    if (Object.getOwnPropertyDescriptor(this, 'data')?.get === undefined) unload(this, lazy.load);
    return true;
  }

  static zeros(type: DataType, dims: readonly number[]): Tensor {
    return new Tensor(type, new ARRAY_OF[type](numel(dims)), dims);
  }

  /** Nested JavaScript arrays, as torch's tolist(): int64 becomes number when it fits exactly, else bigint. */
  tolist(): Nested {
    const flat: (number | bigint | boolean)[] = [];
    const d = this.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (typeof v === 'bigint') flat.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
      else if (this.type === 'bool') flat.push(v !== 0);
      else flat.push(v);
    }
    if (this.dims.length === 0) return flat[0]!;
    let pos = 0;
    const build = (axis: number): Nested[] => {
      const out: Nested[] = [];
      for (let i = 0; i < this.dims[axis]!; i++) out.push(axis === this.dims.length - 1 ? flat[pos++]! : build(axis + 1));
      return out;
    };
    return build(0);
  }

  reshape(dims: readonly number[]): Tensor {
    return new Tensor(this.type, this.data, dims);
  }

  clone(): Tensor {
    return new Tensor(this.type, this.data.slice() as TensorData, this.dims);
  }
}

const LAZY = new WeakMap<Tensor, { load: () => TensorData; source: string }>();

// 'data' stays an own enumerable property in both states (assert.deepStrictEqual compares it):
// an accessor that reads and then turns itself into a plain value.
function unload(t: Tensor, load: () => TensorData): void {
  Object.defineProperty(t, 'data', {
    configurable: true,
    enumerable: true,
    get() {
      const data = load();
      Object.defineProperty(t, 'data', { value: data, configurable: true, enumerable: true, writable: false });
      return data;
    },
  });
}

/** The lasting name of a lazy tensor's bytes while they are not in memory (so unchanged), else null. */
export function lazySource(t: Tensor): string | null {
  const lazy = LAZY.get(t);
  if (!lazy) return null;
  return Object.getOwnPropertyDescriptor(t, 'data')?.get ? lazy.source : null;
}

/** The rows of an int64 [B, L] tensor of token ids (what generate returns), as numbers. */
export function tensorRows(t: Tensor): number[][] {
  const [b, l] = t.dims as [number, number];
  const data = t.data as BigInt64Array;
  return Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * l, (i + 1) * l), Number));
}
