/**
 * SOCKS5 (RFC 1928) as chive speaks it, as pure bytes in and out: the greeting, the method
 * selection, the request and the reply, plus the mapping of our typed errors to reply codes.
 *
 *   client → greeting      VER=5 ‖ NMETHODS (1..255) ‖ METHODS
 *   server → selection     VER=5 ‖ METHOD (NO_AUTH, or NO_ACCEPTABLE)
 *   client → request       VER=5 ‖ CMD ‖ RSV=0 ‖ ATYP ‖ DST.ADDR ‖ DST.PORT (u16)
 *   server → reply         VER=5 ‖ REP ‖ RSV=0 ‖ ATYP ‖ BND.ADDR ‖ BND.PORT (u16)
 *
 * Every message has two decoders: `readX(buf)` for a socket's growing buffer (null while
 * the message is incomplete, else the message and how many bytes it took, so bytes the
 * program sent after it are kept) and `decodeX(bytes)` for exactly one message (trailing
 * bytes refused). Both refuse bad input as soon as it is visible — a wrong version on the
 * first byte — and never read past the message's maximum length (MAX_SOCKS_* in
 * src/wire/constants.ts). Failures are ChiveErrors: SOCKS_MALFORMED (wrong version, no
 * methods, RSV not 0, a domain name that is empty or not a host name), and
 * SOCKS_ADDRESS_TYPE_UNKNOWN (an ATYP whose length cannot be known).
 *
 * Requests decode whatever the command (the server answers COMMAND_NOT_SUPPORTED for all
 * but CONNECT) and IPv6 targets (the server answers ADDRESS_TYPE_NOT_SUPPORTED for now).
 *
 * Not here: sockets, timers or policy (client/socks-server.ts); username/password or GSSAPI
 * authentication; SOCKS4; Tor's RESOLVE extensions.
 */
import { ByteReader, ByteWriter } from '../src/bytes.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import {
  EndReason,
  MAX_SOCKS_DOMAIN_LEN,
  MAX_SOCKS_GREETING_LEN,
  MAX_SOCKS_REQUEST_LEN,
  SOCKS_METHOD_SELECTION_LEN,
  SOCKS_VERSION,
  SocksAddressType,
  SocksMethod,
  SocksReply,
} from '../src/wire/constants.js';

export interface SocksGreeting {
  /** The authentication methods the program offers, in its order (1..255 of them). */
  readonly methods: readonly number[];
}

/**
 * A SOCKS5 address. `host` is a dotted quad for ipv4, the name as sent for domain, and
 * the RFC 5952 text (hex groups, longest zero run as `::`, no brackets) for ipv6.
 */
export type SocksAddress =
  | { readonly type: 'ipv4'; readonly host: string }
  | { readonly type: 'domain'; readonly host: string }
  | { readonly type: 'ipv6'; readonly host: string };

export interface SocksRequest {
  /** CMD as sent (SocksCommand.CONNECT, BIND, UDP_ASSOCIATE, or any other byte). */
  readonly command: number;
  readonly address: SocksAddress;
  /** 0..65535 as sent. */
  readonly port: number;
}

export interface SocksReplyMessage {
  /** REP (a SocksReply code). */
  readonly reply: number;
  readonly address: SocksAddress;
  readonly port: number;
}

/** A message read from the front of a buffer and the number of bytes it took. */
export interface Framed<T> {
  readonly message: T;
  readonly length: number;
}

/** BND.ADDR of chive's replies: the exit's address is not known here, so 0.0.0.0:0 (as Tor). */
export const UNSPECIFIED_ADDRESS: SocksAddress = { type: 'ipv4', host: '0.0.0.0' };

/** A host name as BEGIN accepts it (src/wire/relay-message.ts): ASCII letters, digits, `._-`. */
const HOST_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const IPV4_PATTERN = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const IPV4_LEN = 4;
const IPV6_LEN = 16;

function malformed(message: string): ChiveError {
  return new ChiveError('SOCKS_MALFORMED', `socks5: ${message}`);
}

function checkVersion(buf: Uint8Array, what: string): void {
  if (buf.length >= 1 && buf[0] !== SOCKS_VERSION) {
    throw malformed(`${what} has version ${buf[0]}, only ${SOCKS_VERSION} is spoken`);
  }
}

// --- greeting ------------------------------------------------------------------------

/** The greeting at the front of `buf`, or null while it is incomplete. */
export function readGreeting(buf: Uint8Array): Framed<SocksGreeting> | null {
  checkVersion(buf, 'greeting');
  if (buf.length < 2) return null;
  if (buf[1] === 0) throw malformed('greeting offers no methods');
  const length = 2 + buf[1]!;
  if (buf.length < length) return null;
  return { message: decodeGreeting(buf.subarray(0, length)), length };
}

/** Exactly one greeting (≤ MAX_SOCKS_GREETING_LEN bytes, no trailing bytes). */
export function decodeGreeting(bytes: Uint8Array): SocksGreeting {
  const r = ByteReader.of(bytes, MAX_SOCKS_GREETING_LEN, 'socks5 greeting');
  checkVersion(bytes, 'greeting');
  r.u8('VER');
  const n = r.u8('NMETHODS');
  if (n === 0) throw malformed('greeting offers no methods');
  const methods = Array.from(r.bytes(n, 'METHODS'));
  r.end();
  return { methods };
}

export function encodeGreeting(greeting: SocksGreeting): Uint8Array {
  const n = greeting.methods.length;
  if (n < 1 || n > 255) throw new ChiveError('INVALID_ARGUMENT', `socks5 greeting: ${n} methods, not 1..255`);
  const w = new ByteWriter(MAX_SOCKS_GREETING_LEN, 2 + n, 'socks5 greeting').u8(SOCKS_VERSION).u8(n);
  for (const m of greeting.methods) w.u8(m);
  return w.finish();
}

/** The method chive selects: NO_AUTH when offered, else NO_ACCEPTABLE (then the server closes). */
export function selectMethod(greeting: SocksGreeting): number {
  return greeting.methods.includes(SocksMethod.NO_AUTH) ? SocksMethod.NO_AUTH : SocksMethod.NO_ACCEPTABLE;
}

export function encodeMethodSelection(method: number): Uint8Array {
  return new ByteWriter(SOCKS_METHOD_SELECTION_LEN, 2).u8(SOCKS_VERSION).u8(method).finish();
}

/** The method a server selected (for programs and tests speaking as the client). */
export function decodeMethodSelection(bytes: Uint8Array): number {
  const r = ByteReader.of(bytes, SOCKS_METHOD_SELECTION_LEN, 'socks5 method selection');
  checkVersion(bytes, 'method selection');
  r.u8('VER');
  const method = r.u8('METHOD');
  r.end();
  return method;
}

// --- request and reply ---------------------------------------------------------------

/** The request at the front of `buf`, or null while it is incomplete. */
export function readRequest(buf: Uint8Array): Framed<SocksRequest> | null {
  const length = readAddressed(buf, 'request');
  if (length === null) return null;
  return { message: decodeRequest(buf.subarray(0, length)), length };
}

/** Exactly one request (≤ MAX_SOCKS_REQUEST_LEN bytes, no trailing bytes). */
export function decodeRequest(bytes: Uint8Array): SocksRequest {
  const { code, address, port } = decodeAddressed(bytes, 'request');
  return { command: code, address, port };
}

export function encodeRequest(request: SocksRequest): Uint8Array {
  return encodeAddressed(request.command, request.address, request.port, 'request');
}

/** A reply; chive's own carry UNSPECIFIED_ADDRESS, port 0. */
export function encodeReply(reply: number, address: SocksAddress = UNSPECIFIED_ADDRESS, port = 0): Uint8Array {
  return encodeAddressed(reply, address, port, 'reply');
}

/** The reply at the front of `buf`, or null while it is incomplete (for client programs and tests). */
export function readReply(buf: Uint8Array): Framed<SocksReplyMessage> | null {
  const length = readAddressed(buf, 'reply');
  if (length === null) return null;
  return { message: decodeReply(buf.subarray(0, length)), length };
}

export function decodeReply(bytes: Uint8Array): SocksReplyMessage {
  const { code, address, port } = decodeAddressed(bytes, 'reply');
  return { reply: code, address, port };
}

/** Length of the request / reply at the front of `buf`, or null until the header tells it. */
function addressedMessageLength(buf: Uint8Array, what: string): number | null {
  checkVersion(buf, what);
  if (buf.length >= 3 && buf[2] !== 0) throw malformed(`${what} has RSV ${buf[2]}, not 0`);
  if (buf.length < 4) return null;
  const atyp = buf[3]!;
  if (atyp === SocksAddressType.IPV4) return 4 + IPV4_LEN + 2;
  if (atyp === SocksAddressType.IPV6) return 4 + IPV6_LEN + 2;
  if (atyp !== SocksAddressType.DOMAIN) throw unknownAddressType(atyp, what);
  if (buf.length < 5) return null;
  if (buf[4] === 0) throw malformed(`${what} has an empty domain name`);
  return 4 + 1 + buf[4]! + 2;
}

/** The complete request / reply at the front of `buf`, or null while it is incomplete. */
function readAddressed(buf: Uint8Array, what: string): number | null {
  const length = addressedMessageLength(buf, what);
  return length === null || buf.length < length ? null : length;
}

function unknownAddressType(atyp: number, what: string): ChiveError {
  return new ChiveError('SOCKS_ADDRESS_TYPE_UNKNOWN', `socks5: ${what} has address type ${atyp}, not 1, 3 or 4`);
}

function decodeAddressed(bytes: Uint8Array, what: string): { code: number; address: SocksAddress; port: number } {
  const r = ByteReader.of(bytes, MAX_SOCKS_REQUEST_LEN, `socks5 ${what}`);
  checkVersion(bytes, what);
  r.u8('VER');
  const code = r.u8(what === 'request' ? 'CMD' : 'REP');
  const rsv = r.u8('RSV');
  if (rsv !== 0) throw malformed(`${what} has RSV ${rsv}, not 0`);
  const atyp = r.u8('ATYP');
  let address: SocksAddress;
  if (atyp === SocksAddressType.IPV4) {
    address = { type: 'ipv4', host: Array.from(r.bytes(IPV4_LEN, 'IPv4 address')).join('.') };
  } else if (atyp === SocksAddressType.IPV6) {
    address = { type: 'ipv6', host: formatIpv6(r.bytes(IPV6_LEN, 'IPv6 address')) };
  } else if (atyp === SocksAddressType.DOMAIN) {
    const name = r.varBytes8(MAX_SOCKS_DOMAIN_LEN, 'domain name');
    address = { type: 'domain', host: checkDomain(name, what) };
  } else {
    throw unknownAddressType(atyp, what);
  }
  const port = r.u16('port');
  r.end();
  return { code, address, port };
}

function checkDomain(name: Uint8Array, what: string): string {
  if (name.length === 0) throw malformed(`${what} has an empty domain name`);
  // Only ASCII can match the pattern, so latin1 decoding loses nothing that would pass.
  const host = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
  if (!HOST_NAME_PATTERN.test(host)) {
    throw malformed(`${what} domain name is not a host name of [A-Za-z0-9._-]`);
  }
  return host;
}

function encodeAddressed(code: number, address: SocksAddress, port: number, what: string): Uint8Array {
  const w = new ByteWriter(MAX_SOCKS_REQUEST_LEN, 32, `socks5 ${what}`).u8(SOCKS_VERSION).u8(code).u8(0);
  if (address.type === 'ipv4') {
    if (!IPV4_PATTERN.test(address.host)) throw new ChiveError('INVALID_ARGUMENT', `socks5 ${what}: '${address.host}' is not an IPv4 address`);
    w.u8(SocksAddressType.IPV4).bytes(Uint8Array.from(address.host.split('.').map(Number)));
  } else if (address.type === 'ipv6') {
    w.u8(SocksAddressType.IPV6).bytes(parseIpv6(address.host));
  } else {
    const bytes = Buffer.from(address.host, 'latin1');
    if (bytes.length < 1 || bytes.length > MAX_SOCKS_DOMAIN_LEN || !HOST_NAME_PATTERN.test(address.host)) {
      throw new ChiveError('INVALID_ARGUMENT', `socks5 ${what}: domain name must be 1..${MAX_SOCKS_DOMAIN_LEN} bytes of [A-Za-z0-9._-]`);
    }
    w.u8(SocksAddressType.DOMAIN).varBytes8(bytes);
  }
  return w.u16(port).finish();
}

// --- IPv6 text -----------------------------------------------------------------------

/** RFC 5952 text of 16 bytes: lower-case hex groups, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < IPV6_LEN; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** 16 bytes from IPv6 text of hex groups with at most one `::` (no embedded IPv4, no zone). */
export function parseIpv6(text: string): Uint8Array {
  const bad = (): ChiveError => new ChiveError('INVALID_ARGUMENT', `'${text}' is not an IPv6 address`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parse = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) throw bad();
      return parseInt(g, 16);
    });
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) throw bad();
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  const out = new Uint8Array(IPV6_LEN);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

// --- typed errors → reply codes ------------------------------------------------------

/**
 * The reply for a stream END reason received before CONNECTED, exactly as C Tor maps it
 * (src/core/or/reasons.c, stream_end_reason_to_socks5_response). DONE before CONNECTED
 * means the exit closed without connecting: CONNECTION_REFUSED.
 */
export function socksReplyForEndReason(reason: number): number {
  switch (reason) {
    case EndReason.RESOLVE_FAILED:
    case EndReason.NO_ROUTE:
      return SocksReply.HOST_UNREACHABLE;
    case EndReason.CONNECT_REFUSED:
    case EndReason.CONNECT_RESET:
    case EndReason.DONE:
      return SocksReply.CONNECTION_REFUSED;
    case EndReason.EXIT_POLICY:
      return SocksReply.NOT_ALLOWED;
    case EndReason.TIMEOUT:
      return SocksReply.TTL_EXPIRED;
    default:
      return SocksReply.GENERAL_FAILURE;
  }
}

/**
 * The END reason behind a STREAM_REFUSED error: `cause.endReason` when the circuit layer
 * attaches it, else the reason name that client/circuit-streams.ts puts at the end of the
 * message ("the exit refused host:port: EXIT_POLICY", or "…: reason 42"). Null if neither.
 */
export function endReasonOfRefusal(error: ChiveError): number | null {
  const cause = error.cause as { endReason?: unknown } | undefined;
  if (cause !== null && typeof cause === 'object' && typeof cause.endReason === 'number') return cause.endReason;
  return null;
}

/**
 * The reply for a failed `openStream`: the exit's END reason (socksReplyForEndReason) for
 * STREAM_REFUSED; NOT_ALLOWED for PATH_NO_EXIT (no exit's policy allows the target: C Tor
 * answers that as an EXIT_POLICY end too); TTL_EXPIRED for a timeout while opening (STREAM_TIMEOUT,
 * CIRCUIT_BUILD_TIMEOUT, LINK_HANDSHAKE_TIMEOUT, as Tor answers its own stream timeouts);
 * GENERAL_FAILURE for anything else, whatever was thrown.
 */
export function socksReplyForError(error: unknown): number {
  if (!isChiveError(error)) return SocksReply.GENERAL_FAILURE;
  switch (error.code) {
    case 'STREAM_REFUSED': {
      const reason = endReasonOfRefusal(error);
      return reason === null ? SocksReply.GENERAL_FAILURE : socksReplyForEndReason(reason);
    }
    case 'PATH_NO_EXIT':
      return SocksReply.NOT_ALLOWED;
    case 'STREAM_TIMEOUT':
    case 'CIRCUIT_BUILD_TIMEOUT':
    case 'LINK_HANDSHAKE_TIMEOUT':
      return SocksReply.TTL_EXPIRED;
    default:
      return SocksReply.GENERAL_FAILURE;
  }
}

/** Name of a SocksReply code ("NOT_ALLOWED"), or the number, for logs and counters. */
export function socksReplyName(code: number): string {
  for (const [name, value] of Object.entries(SocksReply)) if (value === code) return name;
  return `reply ${code}`;
}
