// Writing the protobuf wire format (https://protobuf.dev/programming-guides/encoding/): tags,
// varints, doubles, length-delimited strings and nested messages, into one growing buffer.
// A nested message's length prefix comes before it but is known only after it: one byte is
// reserved (most messages are shorter than 128 bytes) and, when the length needs more, the
// message is moved up by the missing bytes, so the output is canonical protobuf.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 128)) size++;
  return size;
}

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** a non-negative integer below 2^53 */
  private uvarint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = v % 128 | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  bool(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.uvarint(value ? 1 : 0);
  }

  /** an integer int64 field; a negative value takes ten bytes (two's complement), as in every runtime */
  int64(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    if (value >= 0) return this.uvarint(value);
    this.ensure(10);
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
  }

  string(field: number, value: string): void {
    const n = Buffer.byteLength(value, 'utf8');
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, n, 'utf8');
  }

  /** a nested message: whatever `body` writes to this writer becomes its content */
  message(field: number, body: () => void): void {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.ensure(1);
    const start = ++this.pos;
    body();
    const length = this.pos - start;
    const extra = varintSize(length) - 1;
    if (extra > 0) {
      this.ensure(extra);
      this.buf.copyWithin(start + extra, start, this.pos);
      this.pos += extra;
    }
    let at = start - 1;
    let v = length;
    while (v > 0x7f) {
      this.buf[at++] = v % 128 | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[at] = v;
  }

  /** the bytes written, in a buffer of their own */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
