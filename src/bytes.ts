/**
 * Byte reader and writer for every codec in chive.
 *
 * `ByteReader` reads big-endian integers and slices from a Uint8Array and throws a typed
 * `ChiveError` (TRUNCATED, TRAILING_BYTES, OVER_LENGTH) instead of returning garbage;
 * `ByteWriter` builds a bounded buffer. Decoders follow one shape:
 *
 *     const r = ByteReader.of(bytes, MAX_LEN);   // rejects input longer than MAX_LEN
 *     const x = r.u16(); ...
 *     r.end();                                   // rejects trailing bytes
 *
 * This is not a general serialisation framework, and it holds no secrets: slices it
 * returns are views into the input unless `copy` is asked for.
 */
import { ChiveError } from './errors.js';

export class ByteReader {
  private pos = 0;

  private constructor(private readonly buf: Uint8Array, private readonly what: string) {}

  /** A reader over `bytes`, refusing input longer than `maxLength` (OVER_LENGTH). */
  static of(bytes: Uint8Array, maxLength: number, what = 'input'): ByteReader {
    if (bytes.length > maxLength) {
      throw new ChiveError('OVER_LENGTH', `${what}: ${bytes.length} bytes exceeds the maximum of ${maxLength}`);
    }
    return new ByteReader(bytes, what);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.buf.length - this.pos) {
      throw new ChiveError('TRUNCATED', `${this.what}: truncated reading ${field} (need ${n}, have ${this.buf.length - this.pos})`);
    }
  }

  u8(field = 'u8'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field = 'u16'): number {
    this.need(2, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(field = 'u32'): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    const v = ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
    this.pos += 4;
    return v;
  }

  /** A u64 as a JS number; refuses values above 2^53 - 1 (BAD_VALUE). */
  u64(field = 'u64'): number {
    const hi = this.u32(field);
    const lo = this.u32(field);
    if (hi > 0x1fffff) throw new ChiveError('BAD_VALUE', `${this.what}: ${field} exceeds 2^53`);
    return hi * 0x1_0000_0000 + lo;
  }

  /** The next `n` bytes (a view, or a copy if `copy`). */
  bytes(n: number, field = 'bytes', copy = false): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return copy ? out.slice() : out;
  }

  /** A u8 length then that many bytes, refusing lengths above `max`. */
  varBytes8(max: number, field = 'bytes'): Uint8Array {
    const n = this.u8(`${field} length`);
    if (n > max) throw new ChiveError('OVER_LENGTH', `${this.what}: ${field} length ${n} exceeds ${max}`);
    return this.bytes(n, field);
  }

  /** A u16 length then that many bytes, refusing lengths above `max`. */
  varBytes16(max: number, field = 'bytes'): Uint8Array {
    const n = this.u16(`${field} length`);
    if (n > max) throw new ChiveError('OVER_LENGTH', `${this.what}: ${field} length ${n} exceeds ${max}`);
    return this.bytes(n, field);
  }

  /** A u8-length-prefixed UTF-8 string that must be valid UTF-8. */
  string8(max: number, field = 'string'): string {
    return decodeUtf8(this.varBytes8(max, field), `${this.what}: ${field}`);
  }

  /** A u16-length-prefixed UTF-8 string that must be valid UTF-8. */
  string16(max: number, field = 'string'): string {
    return decodeUtf8(this.varBytes16(max, field), `${this.what}: ${field}`);
  }

  /** Everything left. */
  rest(): Uint8Array {
    const out = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return out;
  }

  /** Refuses trailing bytes (TRAILING_BYTES). */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ChiveError('TRAILING_BYTES', `${this.what}: ${this.buf.length - this.pos} trailing bytes`);
    }
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new ChiveError('BAD_VALUE', `${what}: not valid UTF-8`);
  }
}

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** A growable writer with a hard maximum size (OVER_LENGTH past it). */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(private readonly maxLength: number, initial = 64, private readonly what = 'output') {
    this.buf = new Uint8Array(Math.min(initial, maxLength));
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need > this.maxLength) {
      throw new ChiveError('OVER_LENGTH', `${this.what}: would exceed the maximum of ${this.maxLength} bytes`);
    }
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.min(this.maxLength, Math.max(need, this.buf.length * 2)));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
  }

  u8(v: number): this {
    checkUint(v, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    checkUint(v, 0xffff, 'u16');
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    checkUint(v, 0xffff_ffff, 'u32');
    this.ensure(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u64(v: number): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, 'u64');
    this.u32(Math.floor(v / 0x1_0000_0000));
    return this.u32(v >>> 0);
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  varBytes8(b: Uint8Array): this {
    return this.u8(b.length).bytes(b);
  }

  varBytes16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  string8(s: string): this {
    return this.varBytes8(utf8(s));
  }

  string16(s: string): this {
    return this.varBytes16(utf8(s));
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written (a copy; the writer may be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} out of range: ${v}`);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new ChiveError('BAD_VALUE', 'not a hex string');
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
