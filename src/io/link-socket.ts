/**
 * What the link server and the link dialler share below the Link object: the ws options
 * of every link socket, the subprotocol ↔ Noise pattern mapping, one handshake step
 * (one ws message in, at most one out), and closing a socket for a LinkCloseReason.
 *
 * Not here: the open link (link.ts), accepting (link-server.ts), dialling (link-connect.ts).
 */
import type { WebSocket } from 'ws';
import { ChiveError } from '../errors.js';
import type { HandshakeResult, HandshakeState, NoisePattern } from '../noise/handshake.js';
import { LINK_SUBPROTOCOL_NK, LINK_SUBPROTOCOL_XK, MAX_LINK_FRAME_LEN } from '../wire/constants.js';
import { CLOSE_POLICY, closeFrameText, type LinkCloseReason } from './link-close.js';

/**
 * ws options on both sides: no compression (frames are ciphertext; compression would
 * also leak lengths), ws itself refuses any message over MAX_LINK_FRAME_LEN (1009), and
 * no UTF-8 validation (a text message closes the link whatever it holds).
 */
export const LINK_WS_OPTIONS = {
  perMessageDeflate: false,
  maxPayload: MAX_LINK_FRAME_LEN,
  skipUTF8Validation: true,
} as const;

export type WsData = Buffer | ArrayBuffer | Buffer[];

/** The Sec-WebSocket-Protocol an initiator offers for `pattern`. */
export function subprotocolFor(pattern: NoisePattern): string {
  return pattern === 'NK' ? LINK_SUBPROTOCOL_NK : LINK_SUBPROTOCOL_XK;
}

/** The pattern a Sec-WebSocket-Protocol header asks for: exactly one known token, or null. */
export function patternForSubprotocol(header: string | undefined): NoisePattern | null {
  const value = header?.trim();
  if (value === LINK_SUBPROTOCOL_NK) return 'NK';
  if (value === LINK_SUBPROTOCOL_XK) return 'XK';
  return null;
}

/** What one received handshake message leads to: a message to send back, and the result once finished. */
export interface HandshakeStep {
  readonly reply: Uint8Array | null;
  readonly result: HandshakeResult | null;
}

/**
 * Feeds one received ws message to `hs`: reads it (its payload must be empty), writes our
 * next message if it is our turn (with an empty payload), and finishes when the pattern
 * is complete. Throws ChiveError (HANDSHAKE_FAILED, OVER_LENGTH, TRUNCATED, HANDSHAKE_STATE)
 * on anything that is not the next valid handshake message; the caller closes the link.
 */
export function stepHandshake(hs: HandshakeState, message: Uint8Array): HandshakeStep {
  const payload = hs.readMessage(message);
  if (payload.length !== 0) {
    hs.abort();
    throw new ChiveError('HANDSHAKE_FAILED', `link handshake payloads are empty; got ${payload.length} bytes`);
  }
  const reply = hs.nextStep === 'write' ? hs.writeMessage() : null;
  const result = hs.nextStep === 'finish' ? hs.finish() : null;
  return { reply, result };
}

/**
 * Closes `ws` for `reason`: a close frame with the reason's code and a grace timer that
 * drops the socket if the peer does not answer, or an immediate drop for reasons that
 * send no close frame (CLOSE_POLICY). Never throws.
 */
export function closeSocket(ws: WebSocket, reason: LinkCloseReason, graceMs: number): void {
  const send = CLOSE_POLICY[reason.code].send;
  try {
    if (send === null || ws.readyState === ws.CONNECTING) {
      ws.terminate();
      return;
    }
    if (ws.readyState === ws.CLOSED) return;
    ws.close(send, closeFrameText(reason));
    const timer = setTimeout(() => ws.terminate(), graceMs);
    ws.once('close', () => clearTimeout(timer));
  } catch {
    ws.terminate();
  }
}

/** The bytes of a ws 'message' event (binaryType 'nodebuffer': a Buffer, itself a Uint8Array). */
export function toBytes(data: WsData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
