/**
 * The link frame codec: after the Noise handshake, every binary WebSocket frame on a link
 * carries k whole cells (1 ≤ k ≤ MAX_CELLS_PER_FRAME) sealed as ONE ChaChaPoly message
 * under the direction's transport CipherState (empty associated data, implicit nonce):
 *
 *     frame = ciphertext(k · CELL_LEN) ‖ tag(AEAD_TAG_LEN)
 *
 * so a frame's length is always AEAD_TAG_LEN + a multiple of CELL_LEN, and an observer
 * learns only how many cells each frame holds.
 *
 * `openFrame` refuses a frame longer than MAX_LINK_FRAME_LEN (OVER_LENGTH), one whose body
 * is not a whole, non-zero number of cells (BAD_CELL), and one whose tag does not verify
 * (BAD_MAC). Any refused frame CLOSES the receive CipherState (its key is zeroed, later
 * calls throw CIPHER_CLOSED): the nonce sequence can no longer be trusted, and the caller
 * must close the link anyway.
 *
 * Per frame the codec allocates one output buffer (`openFrameInPlace` none at all).
 * Not here: splitting cells (wire/cell codec), batching policy, and the ws driver (src/io/).
 */
import { ChiveError } from '../errors.js';
import type { CipherState } from '../noise/symmetric-state.js';
import { AEAD_TAG_LEN, CELL_LEN, MAX_CELLS_PER_FRAME, MAX_LINK_FRAME_LEN } from '../wire/constants.js';

/** Number of cells a frame of `frameLength` bytes carries, or null if no valid frame has that length. */
export function cellsInFrame(frameLength: number): number | null {
  const body = frameLength - AEAD_TAG_LEN;
  if (body <= 0 || body % CELL_LEN !== 0) return null;
  const k = body / CELL_LEN;
  return k <= MAX_CELLS_PER_FRAME ? k : null;
}

/**
 * Seals `cells` (k · CELL_LEN bytes, 1 ≤ k ≤ MAX_CELLS_PER_FRAME) into a new frame with
 * the send CipherState. Wrong lengths are the caller's bug (INVALID_ARGUMENT).
 */
export function sealFrame(cipher: CipherState, cells: Uint8Array): Uint8Array {
  const k = cells.length / CELL_LEN;
  if (!Number.isInteger(k) || k < 1 || k > MAX_CELLS_PER_FRAME) {
    throw new ChiveError(
      'INVALID_ARGUMENT',
      `a link frame carries 1..${MAX_CELLS_PER_FRAME} whole cells of ${CELL_LEN} bytes, not ${cells.length} bytes`,
    );
  }
  const frame = new Uint8Array(cells.length + AEAD_TAG_LEN);
  cipher.sealInto(null, cells, frame);
  return frame;
}

/**
 * Opens `frame` with the receive CipherState into a new buffer of k · CELL_LEN bytes. The
 * input is left untouched. Any refusal closes `cipher` (see the module comment).
 */
export function openFrame(cipher: CipherState, frame: Uint8Array): Uint8Array {
  const body = checkFrameLength(cipher, frame);
  const cells = new Uint8Array(body);
  cipher.openInto(null, frame.subarray(0, body), frame.subarray(body), cells);
  return cells;
}

/**
 * Like `openFrame`, but decrypts inside `frame` and returns a view of its first k · CELL_LEN
 * bytes: no allocation. On failure the frame's bytes are unspecified (and the cipher closed).
 */
export function openFrameInPlace(cipher: CipherState, frame: Uint8Array): Uint8Array {
  const body = checkFrameLength(cipher, frame);
  const cells = frame.subarray(0, body);
  cipher.openInto(null, cells, frame.subarray(body), cells);
  return cells;
}

function checkFrameLength(cipher: CipherState, frame: Uint8Array): number {
  if (!cipher.usable) throw new ChiveError('CIPHER_CLOSED', 'the receive CipherState of this link is closed');
  if (frame.length > MAX_LINK_FRAME_LEN) {
    cipher.close();
    throw new ChiveError('OVER_LENGTH', `link frame of ${frame.length} bytes exceeds ${MAX_LINK_FRAME_LEN}`);
  }
  if (cellsInFrame(frame.length) === null) {
    cipher.close();
    throw new ChiveError(
      'BAD_CELL',
      `link frame of ${frame.length} bytes is not ${AEAD_TAG_LEN} + a whole, non-zero number of ${CELL_LEN}-byte cells`,
    );
  }
  return frame.length - AEAD_TAG_LEN;
}
