/**
 * The chat frames: what two parties of a spliced rendezvous circuit say to each other inside
 * relay command CHAT (docs/PROTOCOL.md, chat messages). One frame per relay message, at most
 * CHAT_FRAME_MAX_LEN (= maxRelayDataLen(4), 436) bytes, big-endian:
 *
 *   HELLO 1: receivedUpTo u32 ‖ nameLen u8 ‖ name (UTF-8, ≤ CHAT_MAX_NAME_BYTES)
 *   MSG   2: msgId 16 ‖ seq u32 ‖ fragIndex u16 ‖ fragCount u16 ‖ sentAt u64 (ms) ‖ fragment (≥ 1 byte)
 *   ACK   3: seq u32
 *   PING  4 / PONG 5: nonce (8 bytes, opaque)
 *
 * The decoder refuses anything malformed with BAD_CHAT_FRAME (the peer's fault; the cause
 * names the field); the encoder refuses a malformed frame with INVALID_ARGUMENT (ours).
 * Checks that need only the frame live here: seq ≥ 1, 1 ≤ fragCount ≤ CHAT_MAX_FRAGMENTS,
 * fragIndex < fragCount, a fragment of exactly CHAT_MAX_FRAGMENT_LEN bytes unless it is the
 * last, a last fragment that keeps the message within CHAT_MAX_MESSAGE_BYTES.
 *
 * Not here: sequencing, reassembly, acknowledgement and retransmission (conversation.ts).
 */
import { ByteReader, ByteWriter, decodeUtf8, utf8 } from '../bytes.js';
import { ChiveError, type ErrorCode } from '../errors.js';
import {
  CHAT_FRAME_MAX_LEN, CHAT_MAX_FRAGMENT_LEN, CHAT_MAX_FRAGMENTS, CHAT_MAX_MESSAGE_BYTES,
  CHAT_MAX_NAME_BYTES, CHAT_MSG_ID_LEN, CHAT_PING_NONCE_LEN, ChatFrameType,
} from '../wire/constants.js';

export interface HelloFrame {
  readonly kind: 'HELLO';
  /** Highest seq the sender of the HELLO has received in order from its peer (0: none). */
  readonly receivedUpTo: number;
  readonly name: string;
}
export interface MsgFrame {
  readonly kind: 'MSG';
  readonly msgId: Uint8Array;
  readonly seq: number;
  readonly fragIndex: number;
  readonly fragCount: number;
  /** ms since the epoch when the message was written (the sender's clock). */
  readonly sentAt: number;
  readonly fragment: Uint8Array;
}
export interface AckFrame {
  readonly kind: 'ACK';
  /** Cumulative: every message with seq ≤ this was received, in order. */
  readonly seq: number;
}
export interface PingFrame { readonly kind: 'PING'; readonly nonce: Uint8Array }
export interface PongFrame { readonly kind: 'PONG'; readonly nonce: Uint8Array }

export type ChatFrame = HelloFrame | MsgFrame | AckFrame | PingFrame | PongFrame;
export type ChatFrameKind = ChatFrame['kind'];

const MAX_U32 = 0xffff_ffff;
const TYPE_NAMES: ReadonlyMap<number, ChatFrameKind> = new Map(
  (Object.entries(ChatFrameType) as [ChatFrameKind, number][]).map(([name, code]) => [code, name]),
);

/** Fragments of a message of `byteLength` bytes: ceil(byteLength / CHAT_MAX_FRAGMENT_LEN). */
export function fragmentCountFor(byteLength: number): number {
  return Math.ceil(byteLength / CHAT_MAX_FRAGMENT_LEN);
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/** Decodes one chat frame (a CHAT relay message body); BAD_CHAT_FRAME for anything malformed. */
export function decodeChatFrame(bytes: Uint8Array): ChatFrame {
  let frame: ChatFrame;
  try {
    const r = ByteReader.of(bytes, CHAT_FRAME_MAX_LEN, 'chat frame');
    frame = readFrame(r);
    r.end();
  } catch (e) {
    if (e instanceof ChiveError && e.code !== 'BAD_CHAT_FRAME') {
      throw new ChiveError('BAD_CHAT_FRAME', e.message, { cause: e });
    }
    throw e;
  }
  checkFrame(frame, 'BAD_CHAT_FRAME');
  return frame;
}

function readFrame(r: ByteReader): ChatFrame {
  const type = r.u8('type');
  const kind = TYPE_NAMES.get(type);
  switch (kind) {
    case 'HELLO': {
      const receivedUpTo = r.u32('receivedUpTo');
      const name = decodeUtf8(r.varBytes8(CHAT_MAX_NAME_BYTES, 'name'), 'chat HELLO name');
      return { kind, receivedUpTo, name };
    }
    case 'MSG': {
      const msgId = r.bytes(CHAT_MSG_ID_LEN, 'msgId', true);
      const seq = r.u32('seq');
      const fragIndex = r.u16('fragIndex');
      const fragCount = r.u16('fragCount');
      const sentAt = r.u64('sentAt');
      const fragment = r.rest().slice();
      return { kind, msgId, seq, fragIndex, fragCount, sentAt, fragment };
    }
    case 'ACK':
      return { kind, seq: r.u32('seq') };
    case 'PING':
    case 'PONG':
      return { kind, nonce: r.bytes(CHAT_PING_NONCE_LEN, 'nonce', true) };
    default:
      throw new ChiveError('BAD_CHAT_FRAME', `chat frame: unknown type ${type}`);
  }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/** Encodes `frame` (at most CHAT_FRAME_MAX_LEN bytes); INVALID_ARGUMENT for a malformed frame. */
export function encodeChatFrame(frame: ChatFrame): Uint8Array {
  checkFrame(frame, 'INVALID_ARGUMENT');
  const w = new ByteWriter(CHAT_FRAME_MAX_LEN, 64, 'chat frame');
  w.u8(ChatFrameType[frame.kind]);
  switch (frame.kind) {
    case 'HELLO':
      return w.u32(frame.receivedUpTo).varBytes8(utf8(frame.name)).finish();
    case 'MSG':
      return w.bytes(frame.msgId).u32(frame.seq).u16(frame.fragIndex).u16(frame.fragCount)
        .u64(frame.sentAt).bytes(frame.fragment).finish();
    case 'ACK':
      return w.u32(frame.seq).finish();
    case 'PING':
    case 'PONG':
      return w.bytes(frame.nonce).finish();
  }
}

// ---------------------------------------------------------------------------------------
// Field checks, shared by decoder (BAD_CHAT_FRAME) and encoder (INVALID_ARGUMENT)
// ---------------------------------------------------------------------------------------

/** Throws `code` unless `frame` is a well-formed chat frame (the checks in the header comment). */
export function checkFrame(frame: ChatFrame, code: ErrorCode): void {
  const fail = (why: string): never => {
    throw new ChiveError(code, `chat ${String((frame as { kind?: unknown }).kind)}: ${why}`);
  };
  switch (frame.kind) {
    case 'HELLO':
      if (!isUint(frame.receivedUpTo, MAX_U32)) fail(`receivedUpTo ${frame.receivedUpTo} is not a u32`);
      if (typeof frame.name !== 'string' || utf8(frame.name).length > CHAT_MAX_NAME_BYTES) {
        fail(`name must be at most ${CHAT_MAX_NAME_BYTES} bytes of UTF-8`);
      }
      return;
    case 'MSG':
      checkMsg(frame, fail);
      return;
    case 'ACK':
      if (!isUint(frame.seq, MAX_U32)) fail(`seq ${frame.seq} is not a u32`);
      return;
    case 'PING':
    case 'PONG':
      if (!(frame.nonce instanceof Uint8Array) || frame.nonce.length !== CHAT_PING_NONCE_LEN) {
        fail(`nonce must be ${CHAT_PING_NONCE_LEN} bytes`);
      }
      return;
    default:
      fail('not a chat frame');
  }
}

function checkMsg(frame: MsgFrame, fail: (why: string) => never): void {
  const { msgId, seq, fragIndex, fragCount, sentAt, fragment } = frame;
  if (!(msgId instanceof Uint8Array) || msgId.length !== CHAT_MSG_ID_LEN) fail(`msgId must be ${CHAT_MSG_ID_LEN} bytes`);
  if (!isUint(seq, MAX_U32) || seq === 0) fail(`seq ${seq} is not 1..2^32-1`);
  if (!isUint(sentAt, Number.MAX_SAFE_INTEGER)) fail(`sentAt ${sentAt} is not a u64 of ms`);
  if (!isUint(fragCount, CHAT_MAX_FRAGMENTS) || fragCount === 0) {
    fail(`fragCount ${fragCount} is not 1..${CHAT_MAX_FRAGMENTS}`);
  }
  if (!isUint(fragIndex, fragCount - 1)) fail(`fragIndex ${fragIndex} is not below fragCount ${fragCount}`);
  if (!(fragment instanceof Uint8Array) || fragment.length === 0) fail('empty fragment');
  const last = fragIndex === fragCount - 1;
  if (!last && fragment.length !== CHAT_MAX_FRAGMENT_LEN) {
    fail(`fragment ${fragIndex} of ${fragCount} has ${fragment.length} bytes, must be ${CHAT_MAX_FRAGMENT_LEN}`);
  }
  if (last && fragment.length > CHAT_MAX_FRAGMENT_LEN) {
    fail(`fragment of ${fragment.length} bytes exceeds ${CHAT_MAX_FRAGMENT_LEN}`);
  }
  if (last && fragIndex * CHAT_MAX_FRAGMENT_LEN + fragment.length > CHAT_MAX_MESSAGE_BYTES) {
    fail(`a message of ${fragCount} fragments ending in ${fragment.length} bytes exceeds ${CHAT_MAX_MESSAGE_BYTES} bytes`);
  }
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}
