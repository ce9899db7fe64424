/**
 * Computes chive's own onion-layer vectors (onion-vectors.json) with the production code:
 * fixed hop keys, the deterministic test RNG, a 3-hop circuit. generate.ts writes the
 * result; test/unit/onion-vectors.test.ts recomputes it through both providers, compares
 * byte for byte, and checks it against the spec-literal reference (reference.ts).
 *
 * Test-only.
 */
import type { CryptoProvider } from '../../../src/crypto/provider.js';
import { hopKeysFromMaterial, type HopKeys } from '../../../src/onion/hop-keys.js';
import { ClientLayers } from '../../../src/onion/client-layers.js';
import { RelayLayer } from '../../../src/onion/relay-layer.js';
import { HOP_KEY_MATERIAL_LEN } from '../../../src/wire/constants.js';
import { createDeterministicRng, seedFrom } from './deterministic-rng.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

export const VECTOR_HOPS = 3;
/**
 * Hop i (0-based) key material: byte k = (0x1f·(i + 1) + 5·k) mod 256, split kf ‖ ko ‖ kr.
 * The nine keys all differ, so a key used in the wrong place cannot pass the vectors.
 */
export function vectorKeyMaterial(hop: number): Uint8Array {
  return Uint8Array.from({ length: HOP_KEY_MATERIAL_LEN }, (_, k) => (0x1f * (hop + 1) + 5 * k) & 0xff);
}
export const FORWARD_RNG_SEED = seedFrom(0xa0);
export const BACKWARD_RNG_SEED = seedFrom(0xb0);

const text = (s: string) => new TextEncoder().encode(s);
/** The forward cells, in order, on one circuit: [target hop (0-based), body]. */
export const FORWARD_SEQUENCE: Array<[number, Uint8Array]> = [
  [2, text('chive onion vector: forward to hop 3')],
  [0, text('chive onion vector: forward to hop 1')],
  [1, text('chive onion vector: forward to hop 2')],
  // A body of exactly maxForwardBody(2) = 457 bytes: no padding at all.
  [2, Uint8Array.from({ length: 457 }, (_, i) => i & 0xff)],
];
/** The backward cells, in order: [originating hop (0-based), body]. */
export const BACKWARD_SEQUENCE: Array<[number, Uint8Array]> = [
  [2, text('chive onion vector: backward from hop 3')],
  [0, text('chive onion vector: backward from hop 1')],
  [1, text('chive onion vector: backward from hop 2')],
];

export interface ForwardVector {
  targetHop: number;
  /** Forward counters c_0..c_target before the cell. */
  counters: number[];
  body: string;
  /** The padding the RNG drew (between the body and the filler tail). */
  padding: string;
  /** links[i]: the payload hop i receives (links[0] = X_1, what the client sends). */
  links: string[];
}

export interface BackwardVector {
  hop: number;
  /** Backward counters d_0..d_hop before the cell. */
  counters: number[];
  body: string;
  padding: string;
  /** links[i]: the payload on the link from hop i towards the client (links[hop] = originated, links[0] = what the client receives). */
  links: string[];
}

export interface OnionVectors {
  description: string;
  hops: Array<{ forward: string; backwardOriginate: string; backwardRelay: string }>;
  forwardRngSeed: string;
  backwardRngSeed: string;
  forward: ForwardVector[];
  backward: BackwardVector[];
}

/** Records the bytes an rng hands out, so that vectors can show the padding. */
function recording(rng: (n: number) => Uint8Array) {
  const drawn: Uint8Array[] = [];
  return { rng: (n: number) => { const b = rng(n); drawn.push(b.slice()); return b; }, drawn };
}

export function computeOnionVectors(provider: CryptoProvider): OnionVectors {
  const keys: HopKeys[] = Array.from({ length: VECTOR_HOPS }, (_, i) => hopKeysFromMaterial(vectorKeyMaterial(i)));
  const client = new ClientLayers(provider);
  keys.forEach((k) => client.addHop(k));
  const relays = keys.map((k) => new RelayLayer(provider, k));
  const fwdRng = recording(createDeterministicRng(FORWARD_RNG_SEED));
  const backRng = recording(createDeterministicRng(BACKWARD_RNG_SEED));

  const forward: ForwardVector[] = FORWARD_SEQUENCE.map(([targetHop, body]) => {
    const counters = relays.slice(0, targetHop + 1).map((r) => r.forwardCount);
    const before = fwdRng.drawn.length;
    const cell = client.encryptForward(targetHop, body, fwdRng.rng);
    const padding = fwdRng.drawn.slice(before);
    if (padding.length > 1) throw new Error('padding was redrawn: pick other vector inputs');
    const links: string[] = [];
    for (let i = 0; i <= targetHop; i++) {
      links.push(hex(cell));
      const result = relays[i]!.processForward(cell);
      if (result.recognized !== (i === targetHop)) throw new Error(`hop ${i} recognition is wrong`);
      if (result.recognized && hex(result.body.subarray(0, body.length)) !== hex(body)) throw new Error('body changed');
    }
    return { targetHop, counters, body: hex(body), padding: hex(padding[0] ?? new Uint8Array(0)), links };
  });

  const backward: BackwardVector[] = BACKWARD_SEQUENCE.map(([hop, body]) => {
    const counters = relays.slice(0, hop + 1).map((r) => r.backwardCount);
    const before = backRng.drawn.length;
    const cell = relays[hop]!.originateBackward(body, backRng.rng);
    const padding = backRng.drawn[before] ?? new Uint8Array(0);
    const links: string[] = new Array(hop + 1);
    links[hop] = hex(cell);
    for (let i = hop - 1; i >= 0; i--) {
      relays[i]!.relayBackward(cell);
      links[i] = hex(cell);
    }
    const got = client.decryptBackward(cell);
    if (got.hop !== hop || hex(got.body.subarray(0, body.length)) !== hex(body)) throw new Error('backward mismatch');
    return { hop, counters, body: hex(body), padding: hex(padding), links };
  });

  return {
    description:
      'chive onion layers (docs/PROTOCOL.md §4): a 3-hop circuit with fixed keys and the deterministic test RNG; see README.md',
    hops: keys.map((k) => ({ forward: hex(k.forward), backwardOriginate: hex(k.backwardOriginate), backwardRelay: hex(k.backwardRelay) })),
    forwardRngSeed: hex(FORWARD_RNG_SEED),
    backwardRngSeed: hex(BACKWARD_RNG_SEED),
    forward,
    backward,
  };
}
