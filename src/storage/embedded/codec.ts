// Little-endian binary encoding shared by log records and snapshots. Numbers are float64:
// revisions are integers far below 2^53. A reader that runs past its end throws CorruptData,
// which the log and snapshot readers treat as damage.

export class CorruptData extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptData';
  }
}

export class BinaryWriter {
  private buf: Buffer;
  private pos: number;

  /** `reserve` bytes at the start are left for a header the caller fills in later */
  constructor(initialSize = 256, reserve = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, reserve + 16));
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** bytes as they are */
  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** length-prefixed bytes */
  bytes(v: Uint8Array): this {
    this.u32(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** length-prefixed UTF-8 */
  str(v: string): this {
    const n = Buffer.byteLength(v);
    this.u32(n);
    this.ensure(n);
    this.buf.write(v, this.pos, 'utf8');
    this.pos += n;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** the written bytes (a view; the writer must not be used afterwards) */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class BinaryReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private take(n: number): number {
    if (n < 0 || this.pos + n > this.end) throw new CorruptData('record runs past its end');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }

  /** a copy, so a value never pins the (large) buffer it was read from */
  bytes(): Buffer {
    const n = this.u32();
    const at = this.take(n);
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  str(): string {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }

  revision(): number {
    const v = this.f64();
    if (!Number.isSafeInteger(v) || v < 0) throw new CorruptData(`bad revision ${v}`);
    return v;
  }
}
