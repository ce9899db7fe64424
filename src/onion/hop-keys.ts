/**
 * The keys of one circuit hop, split from the handshake's key material.
 *
 * A hop's handshake (ntor, or the end-to-end rendezvous handshake) expands
 * HOP_KEY_MATERIAL_LEN = 96 bytes, split in this order:
 *   kf (forward, client → hop) ‖ ko (backward, originated by the hop) ‖ kr (backward, relayed by the hop).
 * The three are independent ChaCha20 keys; every direction and every hop has its own.
 *
 * Not the layering itself (see onion/client-layers.ts and onion/relay-layer.ts).
 */
import { ChiveError } from '../errors.js';
import { HOP_KEY_MATERIAL_LEN, ONION_KEY_LEN } from '../wire/constants.js';

export interface HopKeys {
  /** kf: forward key (client → hop); MAC + keystream of cells this hop verifies and peels. */
  readonly forward: Uint8Array;
  /** ko: backward-originate key; seals the cells this hop originates towards the client. */
  readonly backwardOriginate: Uint8Array;
  /** kr: backward-relay key; the stream layer this hop adds to backward cells it relays. */
  readonly backwardRelay: Uint8Array;
}

export function hopKeysFromMaterial(material: Uint8Array): HopKeys {
  if (material.length !== HOP_KEY_MATERIAL_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `hop key material must be ${HOP_KEY_MATERIAL_LEN} bytes`);
  }
  return {
    forward: material.slice(0, ONION_KEY_LEN),
    backwardOriginate: material.slice(ONION_KEY_LEN, 2 * ONION_KEY_LEN),
    backwardRelay: material.slice(2 * ONION_KEY_LEN, 3 * ONION_KEY_LEN),
  };
}

/**
 * The 12-byte ChaCha20 nonce for a per-cell counter: 4 zero bytes ‖ counter as u64
 * little-endian (the same encoding Noise uses for its ChaChaPoly nonces). Writes into
 * `out` so the hot path allocates nothing.
 */
export function writeCounterNonce(out: Uint8Array, counter: number): Uint8Array {
  if (!Number.isInteger(counter) || counter < 0 || counter > Number.MAX_SAFE_INTEGER) {
    throw new ChiveError('NONCE_EXHAUSTED', `cell counter out of range: ${counter}`);
  }
  out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0;
  let lo = counter >>> 0;
  let hi = Math.floor(counter / 0x1_0000_0000);
  for (let i = 4; i < 8; i++) { out[i] = lo & 0xff; lo >>>= 8; }
  for (let i = 8; i < 12; i++) { out[i] = hi & 0xff; hi >>>= 8; }
  return out;
}
