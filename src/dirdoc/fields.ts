/**
 * Field rules shared by the directory documents (descriptor, vote, consensus): relay
 * nickname and ws address syntax, text fields, sorted identity lists, the time window of
 * votes and consensuses, and byte ordering.
 *
 * Every rule is written once and used by both sides of a codec: an encoder that meets a
 * bad field throws INVALID_ARGUMENT (our own caller's bug), a decoder throws
 * DOCUMENT_BAD_FIELD (a bad value) or DOCUMENT_NOT_CANONICAL (a second encoding of a
 * valid value, e.g. an unsorted list). This is why validators take a `Fail` callback.
 *
 * Not a codec of any whole document, and no crypto.
 */
import { ChiveError } from '../errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';
import { ED25519_KEY_LEN, MAX_NICKNAME_LEN, MAX_RELAY_ADDRESS_LEN } from '../wire/constants.js';

/** How a validator reports a problem: a bad value, or a non-canonical encoding of one. */
export type Fail = (kind: 'field' | 'canonical', message: string) => never;

/** A Fail for encoders and signers: our caller gave us a bad document (INVALID_ARGUMENT). */
export function failLocal(what: string): Fail {
  return (_kind, message) => {
    throw new ChiveError('INVALID_ARGUMENT', `${what}: ${message}`);
  };
}

/** A Fail for decoders: the peer sent a bad document (DOCUMENT_BAD_FIELD / DOCUMENT_NOT_CANONICAL). */
export function failPeer(what: string): Fail {
  return (kind, message) => {
    throw new ChiveError(kind === 'field' ? 'DOCUMENT_BAD_FIELD' : 'DOCUMENT_NOT_CANONICAL', `${what}: ${message}`);
  };
}

/** Lexicographic order of byte strings (shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Short printable form of a key for error messages (first 8 bytes in hex). */
export function shortKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, Math.min(key.byteLength, 8)).toString('hex') + '…';
}

export function checkKey(key: Uint8Array, len: number, field: string, fail: Fail): void {
  if (!(key instanceof Uint8Array) || key.length !== len) fail('field', `${field} must be ${len} bytes`);
}

export function checkUint(v: number, max: number, field: string, fail: Fail): void {
  if (!Number.isInteger(v) || v < 0 || v > max) fail('field', `${field} out of range: ${v}`);
}

const NICKNAME = /^[A-Za-z0-9]+$/;

export function checkNickname(nickname: string, fail: Fail): void {
  if (typeof nickname !== 'string' || nickname.length < 1 || nickname.length > MAX_NICKNAME_LEN || !NICKNAME.test(nickname)) {
    fail('field', `nickname ${JSON.stringify(nickname)} must be 1..${MAX_NICKNAME_LEN} characters of [A-Za-z0-9]`);
  }
}

/** A relay's ws address, parsed. `ipv4` is set when the host is a dotted-quad address. */
export interface RelayAddress {
  readonly scheme: 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
  readonly ipv4?: number;
}

const ADDRESS = /^(ws|wss):\/\/([^/:?#@\s]+):([0-9]{1,5})$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A u32 from canonical dotted-quad IPv4 text ("10.0.0.1"; no leading zeros), or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!DECIMAL.test(p) || p.length > 3) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
}

/**
 * Parses a relay address: `ws://HOST:PORT` or `wss://HOST:PORT`, HOST a canonical IPv4
 * address or a lower-case DNS name, PORT 1..65535 without leading zeros; no path, query,
 * user info or IPv6. Returns undefined when `text` is not one (see `checkRelayAddress`).
 */
export function parseRelayAddress(text: string): RelayAddress | undefined {
  if (typeof text !== 'string' || text.length > MAX_RELAY_ADDRESS_LEN) return undefined;
  const m = ADDRESS.exec(text);
  if (!m) return undefined;
  const [, scheme, host, portText] = m as unknown as [string, 'ws' | 'wss', string, string];
  if (!DECIMAL.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (/^[0-9.]+$/.test(host)) {
    const ipv4 = parseIpv4(host);
    return ipv4 === undefined ? undefined : { scheme, host, port, ipv4 };
  }
  if (host.length > 253 || !host.split('.').every((l) => DNS_LABEL.test(l))) return undefined;
  return { scheme, host, port };
}

export function checkRelayAddress(address: string, fail: Fail): void {
  if (parseRelayAddress(address) === undefined) {
    fail('field', `address ${JSON.stringify(address)} is not ws://HOST:PORT or wss://HOST:PORT (IPv4 or lower-case DNS host, port 1..65535)`);
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A free-text field: valid UTF-8 of at most `maxBytes` bytes, no control characters. */
export function checkText(text: string, maxBytes: number, field: string, fail: Fail): void {
  if (typeof text !== 'string') fail('field', `${field} must be a string`);
  if (utf8Length(text, fail, field) > maxBytes) fail('field', `${field} is longer than ${maxBytes} bytes`);
  if (CONTROL.test(text)) fail('field', `${field} contains a control character`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function utf8Length(text: string, fail: Fail, field: string): number {
  if (LONE_SURROGATE.test(text)) fail('field', `${field} is not well-formed Unicode`);
  return Buffer.byteLength(text, 'utf8');
}

/** A BOM-preserving, fatal UTF-8 decoder: each valid byte string has exactly one text. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeText(bytes: Uint8Array, field: string, fail: Fail): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fail('field', `${field} is not valid UTF-8`);
  }
}

/** Reads a u8-length-prefixed text field of at most `max` bytes. */
export function readText8(r: ByteReader, max: number, field: string, fail: Fail): string {
  return decodeText(r.varBytes8(max, field), field, fail);
}

/** Reads a u16-length-prefixed text field of at most `max` bytes. */
export function readText16(r: ByteReader, max: number, field: string, fail: Fail): string {
  return decodeText(r.varBytes16(max, field), field, fail);
}

/** A list of 32-byte identity keys that must be strictly ascending (sorted, unique). */
export function checkIdentityList(list: readonly Uint8Array[], max: number, field: string, fail: Fail): void {
  if (!Array.isArray(list)) fail('field', `${field} must be a list`);
  if (list.length > max) fail('field', `${field} has ${list.length} entries; at most ${max}`);
  for (let i = 0; i < list.length; i++) {
    checkKey(list[i]!, ED25519_KEY_LEN, `${field}[${i}]`, fail);
    if (i > 0 && compareBytes(list[i - 1]!, list[i]!) >= 0) fail('canonical', `${field} is not sorted and unique`);
  }
}

/** u8 count ‖ 32-byte keys. */
export function writeIdentityList(w: ByteWriter, list: readonly Uint8Array[]): void {
  w.u8(list.length);
  for (const k of list) w.bytes(k);
}

export function readIdentityList(r: ByteReader, max: number, field: string, fail: Fail): Uint8Array[] {
  const n = r.u8(`${field} count`);
  if (n > max) fail('field', `${field} has ${n} entries; at most ${max}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytes(ED25519_KEY_LEN, field, true));
  checkIdentityList(out, max, field, fail);
  return out;
}

/** The time window of a vote or consensus, milliseconds since the Unix epoch. */
export interface TimeWindow {
  /** The document is not usable before this time. */
  readonly validAfter: number;
  /** A client refetches after this time (the document stays usable). */
  readonly freshUntil: number;
  /** The document is not usable after this time. */
  readonly validUntil: number;
}

/** validAfter < freshUntil ≤ validUntil, all u64 milliseconds. */
export function checkTimeWindow(t: TimeWindow, fail: Fail): void {
  for (const k of ['validAfter', 'freshUntil', 'validUntil'] as const) checkUint(t[k], Number.MAX_SAFE_INTEGER, k, fail);
  if (!(t.validAfter < t.freshUntil && t.freshUntil <= t.validUntil)) {
    fail('field', `time window must satisfy validAfter < freshUntil ≤ validUntil (got ${t.validAfter}, ${t.freshUntil}, ${t.validUntil})`);
  }
}

export function writeTimeWindow(w: ByteWriter, t: TimeWindow): void {
  w.u64(t.validAfter).u64(t.freshUntil).u64(t.validUntil);
}

export function readTimeWindow(r: ByteReader, fail: Fail): TimeWindow {
  const t = { validAfter: r.u64('validAfter'), freshUntil: r.u64('freshUntil'), validUntil: r.u64('validUntil') };
  checkTimeWindow(t, fail);
  return t;
}

/** Reads the format version byte and refuses any other (DOCUMENT_UNSUPPORTED_VERSION). */
export function readFormatVersion(r: ByteReader, expected: number, what: string): void {
  const v = r.u8('format version');
  if (v !== expected) {
    throw new ChiveError('DOCUMENT_UNSUPPORTED_VERSION', `${what}: format version ${v} is not supported (expected ${expected})`);
  }
}

/** Runs `fn`; a ChiveError it throws is rethrown with the same code and `prefix: ` added. */
export function withContext<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ChiveError) throw new ChiveError(e.code, `${prefix}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A time for error messages: ISO 8601 when representable, else the raw number of ms. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
