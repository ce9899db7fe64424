/**
 * A relay as the client needs it to build a circuit through it: where to reach it (its ws
 * URL), how to authenticate the link (its X25519 link key, Noise NK), how to run ntor with
 * it (its Ed25519 identity as node id, its X25519 onion key), and a nickname for messages.
 *
 * Consensus entries are mapped into this shape by the client's directory code; tests build
 * it from running relays. This module only declares the shape and checks it.
 * Not here: path selection, families, flags, bandwidth weights.
 */
import { toHex } from '../src/bytes.js';
import { ChiveError } from '../src/errors.js';
import { ED25519_KEY_LEN, MAX_RELAY_ADDRESS_LEN, X25519_KEY_LEN } from '../src/wire/constants.js';

export interface RelayInfo {
  /** Ed25519 identity key (ED25519_KEY_LEN = 32 bytes): the ntor node id and the EXTEND2 ED25519_ID. */
  readonly identity: Uint8Array;
  /** Current X25519 onion key (32 bytes), for ntor. */
  readonly onionKey: Uint8Array;
  /** X25519 link (Noise static) key (32 bytes), for the NK link and the EXTEND2 LINK_KEY. */
  readonly linkKey: Uint8Array;
  /** `ws://host:port` (or wss://) as the descriptor publishes it. */
  readonly url: string;
  readonly nickname?: string;
}

const WS_URL_PATTERN = /^wss?:\/\/[\x21-\x7e]+$/;

/** Throws INVALID_ARGUMENT unless `relay` has keys of the right sizes and a ws URL. */
export function checkRelayInfo(relay: RelayInfo, what = 'relay'): void {
  if (relay === null || typeof relay !== 'object') {
    throw new ChiveError('INVALID_ARGUMENT', `${what}: not a relay description`);
  }
  checkKey(relay.identity, ED25519_KEY_LEN, `${what}: identity`);
  checkKey(relay.onionKey, X25519_KEY_LEN, `${what}: onionKey`);
  checkKey(relay.linkKey, X25519_KEY_LEN, `${what}: linkKey`);
  if (typeof relay.url !== 'string' || relay.url.length > MAX_RELAY_ADDRESS_LEN || !WS_URL_PATTERN.test(relay.url)) {
    throw new ChiveError('INVALID_ARGUMENT', `${what}: url must be an ASCII ws:// or wss:// URL of at most ${MAX_RELAY_ADDRESS_LEN} bytes`);
  }
}

/** A short, non-secret name for messages and logs: the nickname, else the first 8 hex digits of the identity. */
export function describeRelay(relay: RelayInfo): string {
  const id = relay.identity instanceof Uint8Array ? toHex(relay.identity.subarray(0, 4)) : '?';
  return relay.nickname !== undefined && relay.nickname !== '' ? `${relay.nickname} (${id})` : id;
}

/** A key that names the relay and how it is reached: identity, link key and URL. */
export function relayKey(relay: RelayInfo): string {
  return `${toHex(relay.identity)}/${toHex(relay.linkKey)}/${relay.url}`;
}

function checkKey(key: unknown, length: number, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${length} bytes`);
  }
}
