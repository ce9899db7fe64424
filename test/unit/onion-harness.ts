/**
 * Test harness for the onion layers: a client and its relays wired together in memory,
 * so tests can push cells hop by hop and look at every link. Test-only; not a test file.
 */
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { hopKeysFromMaterial, type HopKeys } from '../../src/onion/hop-keys.js';
import { ClientLayers, type BackwardMessage, type ClientLayersOptions } from '../../src/onion/client-layers.js';
import { RelayLayer } from '../../src/onion/relay-layer.js';
import { HOP_KEY_MATERIAL_LEN } from '../../src/wire/constants.js';
import { createDeterministicRng, seedFrom } from '../vectors/onion/deterministic-rng.js';

export interface TestCircuit {
  readonly provider: CryptoProvider;
  readonly keys: HopKeys[];
  readonly client: ClientLayers;
  readonly relays: RelayLayer[];
}

/** Hop keys drawn from `rng` (96 bytes of key material per hop). */
export function drawHopKeys(rng: Rng, hops: number): HopKeys[] {
  return Array.from({ length: hops }, () => hopKeysFromMaterial(rng(HOP_KEY_MATERIAL_LEN)));
}

/** A circuit of `hops` hops with keys from a deterministic rng seeded by `label`. */
export function buildCircuit(
  provider: CryptoProvider, hops: number, label = 1, options: ClientLayersOptions = {},
): TestCircuit {
  const keys = drawHopKeys(createDeterministicRng(seedFrom(label)), hops);
  return circuitFromKeys(provider, keys, options);
}

export function circuitFromKeys(provider: CryptoProvider, keys: HopKeys[], options: ClientLayersOptions = {}): TestCircuit {
  const client = new ClientLayers(provider, options);
  keys.forEach((k) => client.addHop(k));
  return { provider, keys, client, relays: keys.map((k) => new RelayLayer(provider, k)) };
}

export interface ForwardTrip {
  /** links[i]: a copy of the payload hop i received (links[0] is what the client sent). */
  readonly links: Uint8Array[];
  /** The body view the target hop recognised. */
  readonly body: Uint8Array;
}

/**
 * Builds a forward cell for `targetHop` and walks it through the relays. Throws a plain
 * Error (failing the test) when a hop before the target recognises it or the target does not.
 */
export function sendForward(c: TestCircuit, targetHop: number, body: Uint8Array, rng: Rng): ForwardTrip {
  const cell = c.client.encryptForward(targetHop, body, rng);
  const links: Uint8Array[] = [];
  for (let i = 0; i <= targetHop; i++) {
    links.push(cell.slice());
    const r = c.relays[i]!.processForward(cell);
    if (r.recognized !== (i === targetHop)) {
      throw new Error(`hop ${i} ${r.recognized ? 'recognised' : 'did not recognise'} a cell for hop ${targetHop}`);
    }
    if (r.recognized) return { links, body: r.body };
  }
  throw new Error('unreachable');
}

export interface BackwardTrip {
  /** links[i]: a copy of the payload on the link from hop i towards the client. */
  readonly links: Uint8Array[];
  readonly received: BackwardMessage;
}

/** Hop `hop` originates `body`; the hops before it relay it; the client decrypts it. */
export function sendBackward(c: TestCircuit, hop: number, body: Uint8Array, rng: Rng): BackwardTrip {
  const cell = c.relays[hop]!.originateBackward(body, rng);
  const links: Uint8Array[] = new Array(hop + 1);
  links[hop] = cell.slice();
  for (let i = hop - 1; i >= 0; i--) {
    c.relays[i]!.relayBackward(cell);
    links[i] = cell.slice();
  }
  return { links, received: c.client.decryptBackward(cell) };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A copy of `cell` with bit `bit` (0 = most significant bit of byte 0) flipped. */
export function flipBit(cell: Uint8Array, bit: number): Uint8Array {
  const out = cell.slice();
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}
