/**
 * The relay-message codec: what a recognised cell carries to its hop (or back to the client).
 *
 * A relay message is command (u8) ‖ stream id (u16) ‖ data length (u16) ‖ data
 * (RELAY_HEADER_LEN = 5 bytes of header). It decodes to `RelayMessage`, a union on `kind`
 * (the RelayCommand name) with a typed body per command, or `Unrecognized` for codes chive
 * does not know (the circuit state machine refuses those: a silently dropped cell is a side
 * channel). Stream ids are checked here: BEGIN / DATA / END / CONNECTED need a stream ≠ 0,
 * everything else but SENDME (0 = circuit-level, else stream-level) needs stream 0; decoding
 * refuses the rest with BAD_VALUE. Every SENDME, at either level, is authenticated: version
 * SENDME_VERSION echoing the ONION_TAG_LEN-byte tag of the cell that triggered it.
 *
 * The chat commands (ESTABLISH_INTRO … HSDIR_FOUND) carry an opaque `body` for now: their
 * inner layouts belong to the chat feature and will be parsed there, not here.
 *
 * `encodeRelayMessage` writes header + data and no padding: filling the rest of the cell
 * (random bytes, fillers) is the onion layer's job. Decoded messages hold views into the
 * input. Not here: onion crypto, flow-control windows, or which message a state accepts.
 */
import { ByteReader, ByteWriter, utf8 } from '../bytes.js';
import { ChiveError, type ErrorCode } from '../errors.js';
import {
  CELL_PAYLOAD_LEN, MAX_BACKWARD_RELAY_DATA_LEN, MAX_HOPS, MAX_HOSTNAME_LEN, ONION_BODY_LEN, ONION_TAG_LEN,
  RECOGNIZED_MARKER_LEN, RELAY_HEADER_LEN, RelayCommand, SENDME_VERSION, type RelayCommandName,
} from './constants.js';
import { readLinkSpecifiers, writeLinkSpecifiers, type LinkSpecifier } from './link-specifiers.js';

/** Where a stream should connect: a host name, IPv4 address or bracketed IPv6 literal, and a port. */
export interface StreamTarget {
  readonly host: string;
  readonly port: number;
}

export interface BeginMessage { readonly kind: 'BEGIN'; readonly streamId: number; readonly target: StreamTarget }
export interface DataMessage { readonly kind: 'DATA'; readonly streamId: number; readonly data: Uint8Array }
/** `reason` is an EndReason code (kept open: unknown codes decode as numbers). */
export interface EndMessage { readonly kind: 'END'; readonly streamId: number; readonly reason: number }
export interface ConnectedMessage { readonly kind: 'CONNECTED'; readonly streamId: number }
/** Authenticated SENDME: `tag` is the ONION_TAG_LEN-byte tag of the cell that triggered it. */
export interface SendmeMessage {
  readonly kind: 'SENDME';
  /** 0 = circuit-level, else the stream it acknowledges. */
  readonly streamId: number;
  readonly version: number;
  readonly tag: Uint8Array;
}
export interface Extend2Message {
  readonly kind: 'EXTEND2';
  readonly linkSpecifiers: readonly LinkSpecifier[];
  readonly handshakeType: number;
  readonly handshakeData: Uint8Array;
}
export interface Extended2Message { readonly kind: 'EXTENDED2'; readonly handshakeData: Uint8Array }
export interface TruncateMessage { readonly kind: 'TRUNCATE' }
/** `reason` is a DestroyReason code. */
export interface TruncatedMessage { readonly kind: 'TRUNCATED'; readonly reason: number }
/** Cover traffic: the hop that recognises it discards it. */
export interface DropMessage { readonly kind: 'DROP'; readonly data: Uint8Array }

/** The chat commands, whose bodies are opaque at this layer. */
export const CHAT_RELAY_COMMANDS = [
  'ESTABLISH_INTRO', 'INTRO_ESTABLISHED', 'INTRODUCE1', 'INTRODUCE2', 'INTRODUCE_ACK',
  'ESTABLISH_RENDEZVOUS', 'RENDEZVOUS1', 'RENDEZVOUS2', 'RENDEZVOUS_ESTABLISHED',
  'HSDIR_STORE', 'HSDIR_STORED', 'HSDIR_FETCH', 'HSDIR_FOUND', 'CHAT',
] as const satisfies readonly RelayCommandName[];
export type ChatRelayCommandName = (typeof CHAT_RELAY_COMMANDS)[number];
export type ChatRelayMessage = { [K in ChatRelayCommandName]: { readonly kind: K; readonly body: Uint8Array } }[ChatRelayCommandName];

/** A command code chive does not know, kept whole. */
export interface UnrecognizedRelayMessage {
  readonly kind: 'Unrecognized';
  readonly command: number;
  readonly streamId: number;
  readonly data: Uint8Array;
}

export type RelayMessage =
  | BeginMessage | DataMessage | EndMessage | ConnectedMessage | SendmeMessage
  | Extend2Message | Extended2Message | TruncateMessage | TruncatedMessage | DropMessage
  | ChatRelayMessage | UnrecognizedRelayMessage;
export type RelayMessageKind = RelayMessage['kind'];

/** Which stream ids a command may use. */
const STREAM_SCOPE: Record<RelayCommandName, 'stream' | 'circuit' | 'either'> = {
  BEGIN: 'stream', DATA: 'stream', END: 'stream', CONNECTED: 'stream', SENDME: 'either',
  TRUNCATE: 'circuit', TRUNCATED: 'circuit', DROP: 'circuit', EXTEND2: 'circuit', EXTENDED2: 'circuit',
  ESTABLISH_INTRO: 'circuit', ESTABLISH_RENDEZVOUS: 'circuit', INTRODUCE1: 'circuit', INTRODUCE2: 'circuit',
  RENDEZVOUS1: 'circuit', RENDEZVOUS2: 'circuit', INTRO_ESTABLISHED: 'circuit',
  RENDEZVOUS_ESTABLISHED: 'circuit', INTRODUCE_ACK: 'circuit', HSDIR_STORE: 'circuit',
  HSDIR_STORED: 'circuit', HSDIR_FETCH: 'circuit', HSDIR_FOUND: 'circuit', CHAT: 'circuit',
};

const NAME_OF_CODE: ReadonlyMap<number, RelayCommandName> = new Map(
  (Object.entries(RelayCommand) as [RelayCommandName, number][]).map(([name, code]) => [code, name]),
);
const CHAT_KINDS: ReadonlySet<string> = new Set(CHAT_RELAY_COMMANDS);
const MAX_U16 = 0xffff;
const HOSTNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const IPV6_LITERAL_PATTERN = /^\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]$/;

/**
 * Room for relay-message data in a forward cell to hop `hops` (1..MAX_HOPS):
 * CELL_PAYLOAD_LEN − hops·ONION_TAG_LEN − RECOGNIZED_MARKER_LEN − RELAY_HEADER_LEN (452 for
 * 3 hops). Backward cells carry one tag whatever the hop: MAX_BACKWARD_RELAY_DATA_LEN (484).
 */
export function maxRelayDataLen(hops: number): number {
  if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) {
    throw new ChiveError('BAD_HOP', `hops must be 1..${MAX_HOPS}, got ${hops}`);
  }
  return CELL_PAYLOAD_LEN - hops * ONION_TAG_LEN - RECOGNIZED_MARKER_LEN - RELAY_HEADER_LEN;
}
export { MAX_BACKWARD_RELAY_DATA_LEN };

/** The stream id a message goes on (0 for circuit-level commands). */
export function relayMessageStreamId(msg: RelayMessage): number {
  return 'streamId' in msg ? msg.streamId : 0;
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/**
 * Strict decoder: `bytes` must be exactly header + length bytes (TRUNCATED / TRAILING_BYTES),
 * with at most `maxDataLen` data bytes (OVER_LENGTH).
 */
export function decodeRelayMessage(bytes: Uint8Array, maxDataLen: number): RelayMessage {
  checkMaxDataLen(maxDataLen);
  const r = ByteReader.of(bytes, RELAY_HEADER_LEN + maxDataLen, 'relay message');
  const command = r.u8('command');
  const streamId = r.u16('stream id');
  const length = r.u16('length');
  if (length > maxDataLen) {
    throw new ChiveError('OVER_LENGTH', `relay message: length ${length} exceeds ${maxDataLen}`);
  }
  const data = r.bytes(length, 'data');
  r.end();
  return decodeParts(command, streamId, data);
}

/**
 * Decoder for the body of a recognised cell (what follows the marker: at most
 * ONION_BODY_LEN = CELL_PAYLOAD_LEN − ONION_TAG_LEN − RECOGNIZED_MARKER_LEN bytes). The
 * message is a prefix of `body`; its length field says where it ends. This is the one place
 * where bytes after a message are allowed, because there they are required: every cell has
 * the same size, so the rest of the body is the random padding and, forward, the Sphinx
 * fillers that make a hop's tail look like keystream. They mean nothing by design, so there
 * is nothing to check (the hop's MAC has already authenticated all of them). `maxDataLen`
 * (default: whatever fits in `body`) lets the onion layer cap the message at its hop's room.
 */
export function decodeRelayMessageInCell(body: Uint8Array, maxDataLen?: number): RelayMessage {
  if (body.length > ONION_BODY_LEN) {
    throw new ChiveError('OVER_LENGTH', `relay cell body: ${body.length} bytes exceeds ${ONION_BODY_LEN}`);
  }
  if (body.length < RELAY_HEADER_LEN) {
    throw new ChiveError('TRUNCATED', `relay cell body: ${body.length} bytes, shorter than a relay header`);
  }
  const max = maxDataLen ?? body.length - RELAY_HEADER_LEN;
  checkMaxDataLen(max);
  const length = (body[3]! << 8) | body[4]!;
  if (length > max) {
    throw new ChiveError('OVER_LENGTH', `relay message: length ${length} exceeds ${max}`);
  }
  if (RELAY_HEADER_LEN + length > body.length) {
    throw new ChiveError('TRUNCATED', `relay message: length ${length} runs past a ${body.length}-byte body`);
  }
  const data = body.subarray(RELAY_HEADER_LEN, RELAY_HEADER_LEN + length);
  return decodeParts(body[0]!, (body[1]! << 8) | body[2]!, data);
}

function decodeParts(command: number, streamId: number, data: Uint8Array): RelayMessage {
  const name = NAME_OF_CODE.get(command);
  if (name === undefined) return { kind: 'Unrecognized', command, streamId, data };
  checkStream(name, streamId, 'BAD_VALUE');
  const r = ByteReader.of(data, data.length, `relay ${name}`);
  const msg = parseBody(name, streamId, r);
  r.end();
  return msg;
}

function parseBody(name: RelayCommandName, streamId: number, r: ByteReader): RelayMessage {
  switch (name) {
    case 'BEGIN': {
      const port = r.u16('port');
      const host = r.string8(MAX_HOSTNAME_LEN, 'host');
      const target = { host, port };
      checkTarget(target, 'BAD_VALUE');
      return { kind: 'BEGIN', streamId, target };
    }
    case 'DATA':
      return { kind: 'DATA', streamId, data: r.rest() };
    case 'END':
      return { kind: 'END', streamId, reason: r.u8('reason') };
    case 'CONNECTED':
      return { kind: 'CONNECTED', streamId };
    case 'SENDME': {
      const version = r.u8('version');
      checkSendmeVersion(version, 'BAD_VALUE');
      const tagLen = r.u16('tag length');
      if (tagLen !== ONION_TAG_LEN) {
        throw new ChiveError('BAD_VALUE', `relay SENDME: tag length ${tagLen}, must be ${ONION_TAG_LEN}`);
      }
      return { kind: 'SENDME', streamId, version, tag: r.bytes(tagLen, 'tag') };
    }
    case 'EXTEND2': {
      const linkSpecifiers = readLinkSpecifiers(r);
      const handshakeType = r.u16('handshake type');
      const handshakeData = r.varBytes16(MAX_U16, 'handshake data');
      return { kind: 'EXTEND2', linkSpecifiers, handshakeType, handshakeData };
    }
    case 'EXTENDED2':
      return { kind: 'EXTENDED2', handshakeData: r.varBytes16(MAX_U16, 'handshake data') };
    case 'TRUNCATE':
      return { kind: 'TRUNCATE' };
    case 'TRUNCATED':
      return { kind: 'TRUNCATED', reason: r.u8('reason') };
    case 'DROP':
      return { kind: 'DROP', data: r.rest() };
    case 'ESTABLISH_INTRO': case 'INTRO_ESTABLISHED': case 'INTRODUCE1': case 'INTRODUCE2':
    case 'INTRODUCE_ACK': case 'ESTABLISH_RENDEZVOUS': case 'RENDEZVOUS1': case 'RENDEZVOUS2':
    case 'RENDEZVOUS_ESTABLISHED': case 'HSDIR_STORE': case 'HSDIR_STORED': case 'HSDIR_FETCH':
    case 'HSDIR_FOUND': case 'CHAT':
      return { kind: name, body: r.rest() } as ChatRelayMessage;
    default: {
      // A RelayCommand added to constants.ts without a layout here: refuse to guess.
      const unhandled: never = name;
      throw new ChiveError('UNRECOGNIZED_COMMAND', `relay command ${String(unhandled)} has no codec`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/**
 * Header + data of `msg`, no padding (the onion layer pads). MESSAGE_TOO_LONG when the data
 * exceeds `maxDataLen` (default: MAX_BACKWARD_RELAY_DATA_LEN, the most any cell can carry;
 * pass `maxRelayDataLen(hops)` for a forward cell). INVALID_ARGUMENT for a malformed message.
 */
export function encodeRelayMessage(msg: RelayMessage, maxDataLen = MAX_BACKWARD_RELAY_DATA_LEN): Uint8Array {
  const [command, streamId, data] = messageParts(msg);
  checkDataFits(data, maxDataLen);
  const out = new Uint8Array(RELAY_HEADER_LEN + data.length);
  writeParts(out, 0, command, streamId, data);
  return out;
}

/** As `encodeRelayMessage`, but writes into `out` at `offset`; returns the bytes written. */
export function writeRelayMessage(out: Uint8Array, offset: number, msg: RelayMessage, maxDataLen = MAX_BACKWARD_RELAY_DATA_LEN): number {
  const [command, streamId, data] = messageParts(msg);
  checkDataFits(data, maxDataLen);
  const n = RELAY_HEADER_LEN + data.length;
  if (!Number.isInteger(offset) || offset < 0 || offset + n > out.length) {
    throw new ChiveError('INVALID_ARGUMENT', `no room for a ${n}-byte relay message at offset ${offset} of ${out.length}`);
  }
  writeParts(out, offset, command, streamId, data);
  return n;
}

function writeParts(out: Uint8Array, off: number, command: number, streamId: number, data: Uint8Array): void {
  out[off] = command;
  out[off + 1] = streamId >>> 8;
  out[off + 2] = streamId & 0xff;
  out[off + 3] = data.length >>> 8;
  out[off + 4] = data.length & 0xff;
  out.set(data, off + RELAY_HEADER_LEN);
}

function checkDataFits(data: Uint8Array, maxDataLen: number): void {
  checkMaxDataLen(maxDataLen);
  if (data.length > maxDataLen) {
    throw new ChiveError('MESSAGE_TOO_LONG', `relay message data of ${data.length} bytes exceeds ${maxDataLen}`);
  }
}

/** [command code, stream id, data] of a message, checked as the decoder would check it. */
function messageParts(msg: RelayMessage): [number, number, Uint8Array] {
  const streamId = relayMessageStreamId(msg);
  checkUint(streamId, MAX_U16, 'stream id');
  if (msg.kind === 'Unrecognized') {
    checkUint(msg.command, 0xff, 'relay command');
    if (NAME_OF_CODE.has(msg.command)) {
      throw new ChiveError('INVALID_ARGUMENT', `relay command ${msg.command} is known; build that message kind instead`);
    }
    return [msg.command, streamId, msg.data];
  }
  if (!(msg.kind in RelayCommand)) {
    throw new ChiveError('INVALID_ARGUMENT', `not a relay message: ${JSON.stringify(msg.kind)}`);
  }
  checkStream(msg.kind, streamId, 'INVALID_ARGUMENT');
  return [RelayCommand[msg.kind], streamId, messageData(msg)];
}

function messageData(msg: Exclude<RelayMessage, UnrecognizedRelayMessage>): Uint8Array {
  const w = new ByteWriter(1 << 20, 64, `relay ${msg.kind}`);
  switch (msg.kind) {
    case 'BEGIN':
      checkTarget(msg.target, 'INVALID_ARGUMENT');
      return w.u16(msg.target.port).string8(msg.target.host).finish();
    case 'DATA':
      return msg.data;
    case 'END':
      return w.u8(msg.reason).finish();
    case 'CONNECTED':
    case 'TRUNCATE':
      return new Uint8Array(0);
    case 'SENDME':
      checkSendmeVersion(msg.version, 'INVALID_ARGUMENT');
      if (msg.tag.length !== ONION_TAG_LEN) {
        throw new ChiveError('INVALID_ARGUMENT', `SENDME tag must be ${ONION_TAG_LEN} bytes, got ${msg.tag.length}`);
      }
      return w.u8(msg.version).varBytes16(msg.tag).finish();
    case 'EXTEND2':
      writeLinkSpecifiers(w, msg.linkSpecifiers);
      return w.u16(msg.handshakeType).varBytes16(msg.handshakeData).finish();
    case 'EXTENDED2':
      return w.varBytes16(msg.handshakeData).finish();
    case 'TRUNCATED':
      return w.u8(msg.reason).finish();
    case 'DROP':
      return msg.data;
    default:
      if (CHAT_KINDS.has(msg.kind)) return msg.body;
      throw new ChiveError('INVALID_ARGUMENT', `not a relay message: ${JSON.stringify((msg as { kind?: unknown }).kind)}`);
  }
}

// ---------------------------------------------------------------------------------------
// Field checks, shared by decoder (BAD_VALUE: the peer's fault) and encoder (INVALID_ARGUMENT)
// ---------------------------------------------------------------------------------------

function checkStream(name: RelayCommandName, streamId: number, code: ErrorCode): void {
  const scope = STREAM_SCOPE[name];
  if (scope === 'stream' && streamId === 0) {
    throw new ChiveError(code, `relay ${name} needs a stream id other than 0`);
  }
  if (scope === 'circuit' && streamId !== 0) {
    throw new ChiveError(code, `relay ${name} must be on stream 0, got stream ${streamId}`);
  }
}

function checkSendmeVersion(version: number, code: ErrorCode): void {
  if (version !== SENDME_VERSION) {
    throw new ChiveError(code, `relay SENDME: version ${version}, only ${SENDME_VERSION} (authenticated) is spoken`);
  }
}

/** Port 1..65535; host an ASCII name, dotted IPv4 or bracketed IPv6 literal of 1..MAX_HOSTNAME_LEN bytes. */
function checkTarget(target: StreamTarget, code: ErrorCode): void {
  const { host, port } = target;
  if (!Number.isInteger(port) || port < 1 || port > MAX_U16) {
    throw new ChiveError(code, `relay BEGIN: port ${port} is not 1..65535`);
  }
  if (typeof host !== 'string' || host.length < 1 || utf8(host).length > MAX_HOSTNAME_LEN) {
    throw new ChiveError(code, `relay BEGIN: host must be 1..${MAX_HOSTNAME_LEN} bytes`);
  }
  if (!HOSTNAME_PATTERN.test(host) && !IPV6_LITERAL_PATTERN.test(host)) {
    throw new ChiveError(code, 'relay BEGIN: host must be a name of [A-Za-z0-9._-], an IPv4 address or a [bracketed] IPv6 address');
  }
}

function checkMaxDataLen(maxDataLen: number): void {
  checkUint(maxDataLen, MAX_U16, 'maxDataLen');
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} out of range: ${v}`);
  }
}
