/**
 * Why a link closed: the stable vocabulary of link close reasons, who is at fault for
 * each, and which WebSocket close code (src/wire/constants.ts `LinkWsCloseCode`) the
 * closing side sends for it — or whether it drops the socket without a close frame.
 *
 * A `LinkCloseReason` is what `link.onClose` handlers receive and what the server counts
 * in its stats. It is not a ChiveError (a close is not always a failure); the failures
 * that reject a promise (connectLink) are ChiveErrors with LINK_* codes (src/errors.ts).
 *
 * Not here: the driver that acts on these (link.ts), and any logging.
 */
import type { Fault } from '../errors.js';
import { LinkWsCloseCode } from '../wire/constants.js';

/** Stable codes for why a link (or a link still in its handshake) closed. */
export type LinkCloseCode =
  /** `link.close()` on this side. */
  | 'LOCAL'
  /** The server this link belongs to is shutting down. */
  | 'SHUTDOWN'
  /** The peer closed the WebSocket, or the TCP connection dropped; `wsCode` says which. */
  | 'REMOTE'
  /** The peer sent a text WebSocket message. */
  | 'TEXT_MESSAGE'
  /** A frame whose length is not AEAD_TAG_LEN + k·CELL_LEN, or whose tag fails. */
  | 'BAD_FRAME'
  /** A WebSocket message over MAX_LINK_FRAME_LEN (refused by ws itself). */
  | 'FRAME_TOO_LARGE'
  /** Any other WebSocket-level violation ws detected (bad opcode, bad masking, …). */
  | 'WS_PROTOCOL'
  /** The Noise handshake failed: malformed or out-of-turn message, bad tag, wrong key, non-empty payload. */
  | 'HANDSHAKE_FAILED'
  /** The ws upgrade and Noise handshake did not finish in time. */
  | 'HANDSHAKE_TIMEOUT'
  /** No cell in either direction for idleTimeoutMs. */
  | 'IDLE_TIMEOUT'
  /** A keepalive ping went unanswered for a whole keepalive interval. */
  | 'KEEPALIVE_TIMEOUT'
  /** More than maxQueuedBytes waited to be sent (or, received before any onCell handler). */
  | 'OVERLOADED'
  /** Our own code failed: a handler (onLink, onCell, onDrain) threw, or sealing failed. */
  | 'INTERNAL';

export interface LinkCloseReason {
  readonly code: LinkCloseCode;
  /** Human-readable detail; never contains key material. */
  readonly message: string;
  /** Who is to blame; null for an orderly close (LOCAL, SHUTDOWN, IDLE_TIMEOUT, a peer's 1000/1001). */
  readonly fault: Fault | null;
  /**
   * The WebSocket close code: the one this side sent, or for REMOTE the one the peer sent
   * (1005 when its close frame had none, 1006 when the connection dropped without one).
   * For a local reason that drops the socket without a close frame, 1006.
   */
  readonly wsCode: number;
  /** The underlying error, if any (a ChiveError or a wrapped library error). */
  readonly cause?: unknown;
}

/** RFC 6455: "no close frame was received" (never sent on the wire). */
export const WS_ABNORMAL_CLOSURE = 1006;

interface ClosePolicy {
  /** The close code to send, or null to drop the socket at once without a close frame. */
  readonly send: number | null;
  readonly fault: Fault | null;
}

/**
 * What each local reason puts on the wire. Reasons where the peer cannot or will not read
 * a close frame (it stopped reading, or stopped answering pings) drop the socket at once.
 */
export const CLOSE_POLICY: Readonly<Record<LinkCloseCode, ClosePolicy>> = {
  LOCAL: { send: LinkWsCloseCode.NORMAL, fault: null },
  SHUTDOWN: { send: LinkWsCloseCode.GOING_AWAY, fault: null },
  REMOTE: { send: null, fault: 'network' },
  TEXT_MESSAGE: { send: LinkWsCloseCode.UNSUPPORTED_DATA, fault: 'peer' },
  BAD_FRAME: { send: LinkWsCloseCode.PROTOCOL_ERROR, fault: 'peer' },
  FRAME_TOO_LARGE: { send: LinkWsCloseCode.MESSAGE_TOO_BIG, fault: 'peer' },
  WS_PROTOCOL: { send: LinkWsCloseCode.PROTOCOL_ERROR, fault: 'peer' },
  HANDSHAKE_FAILED: { send: LinkWsCloseCode.HANDSHAKE_FAILED, fault: 'peer' },
  HANDSHAKE_TIMEOUT: { send: LinkWsCloseCode.HANDSHAKE_TIMEOUT, fault: 'network' },
  IDLE_TIMEOUT: { send: LinkWsCloseCode.IDLE_TIMEOUT, fault: null },
  KEEPALIVE_TIMEOUT: { send: null, fault: 'network' },
  OVERLOADED: { send: null, fault: 'network' },
  INTERNAL: { send: LinkWsCloseCode.INTERNAL_ERROR, fault: 'local' },
};

/** Every LinkCloseCode, for stats tables. */
export const LINK_CLOSE_CODES = Object.keys(CLOSE_POLICY) as LinkCloseCode[];

/** A reason this side decided on. */
export function localCloseReason(code: Exclude<LinkCloseCode, 'REMOTE'>, message: string, cause?: unknown): LinkCloseReason {
  const policy = CLOSE_POLICY[code];
  const reason = { code, message, fault: policy.fault, wsCode: policy.send ?? WS_ABNORMAL_CLOSURE };
  return cause === undefined ? reason : { ...reason, cause };
}

/** The reason for a close the peer (or the network) decided on, from the received close code. */
export function remoteCloseReason(wsCode: number, detail: string, cause?: unknown): LinkCloseReason {
  const orderly = wsCode === LinkWsCloseCode.NORMAL || wsCode === LinkWsCloseCode.GOING_AWAY || wsCode === LinkWsCloseCode.IDLE_TIMEOUT;
  const name = WS_CODE_NAMES.get(wsCode) ?? 'unknown';
  const message = `the peer closed the link (${wsCode} ${name})${detail ? `: ${detail}` : ''}`;
  const reason = { code: 'REMOTE' as const, message, fault: orderly ? null : ('network' as const), wsCode };
  return cause === undefined ? reason : { ...reason, cause };
}

const WS_CODE_NAMES = new Map<number, string>([
  ...Object.entries(LinkWsCloseCode).map(([name, code]) => [code, name] as [number, string]),
  [1005, 'NO_STATUS'],
  [WS_ABNORMAL_CLOSURE, 'ABNORMAL_CLOSURE'],
]);

/** A short ASCII text for the close frame's reason field: the code's name, nothing more. */
export function closeFrameText(reason: LinkCloseReason): string {
  return reason.code.toLowerCase();
}
