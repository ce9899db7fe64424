/**
 * Crypto micro-benchmark (`npm run bench:crypto [-- --json] [-- --provider sodium|noble]`):
 * per provider, on one core (this process),
 *   - forwardPeelCellsPerSec:   a relay hop verifies and peels forward cells (a middle hop
 *                               of a 3-hop circuit: tag check, decrypt, filler, forward)
 *   - backwardLayerCellsPerSec: a relay hop adds its stream layer to backward cells
 *   - clientCircuitCellsPerSec: the client of a 3-hop circuit, both ways: one forward cell
 *                               built for hop 3 plus one backward cell from hop 3 accepted
 *                               count as two cells
 *   - ntorServerPerSec:         ntor server handshakes (3 X25519 + HMACs + replay cache)
 *   - noiseHandshakesPerSec:    Noise NK handshakes, responder side (what a relay does per
 *                               incoming client link)
 * Each figure is the median of several timed runs (the p5 rate is kept in the JSON as the
 * slow tail). Not part of `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { ClientLayers } from '../../src/onion/client-layers.js';
import { RelayLayer } from '../../src/onion/relay-layer.js';
import { hopKeysFromMaterial, type HopKeys } from '../../src/onion/hop-keys.js';
import { ntorClientCreate, ntorServerRespond, ntorOnionKeyLookup } from '../../src/handshake/ntor.js';
import { ReplayCache } from '../../src/handshake/replay-cache.js';
import { HandshakeState } from '../../src/noise/handshake.js';
import { CELL_PAYLOAD_LEN, HOP_KEY_MATERIAL_LEN } from '../../src/wire/constants.js';
import { fmtRate, machineLine, measureRate, type RateResult } from './harness.js';

const rng: Rng = (n) => new Uint8Array(randomBytes(n));
const BATCH = 2048;

function threeHopKeys(): HopKeys[] {
  return [0, 1, 2].map(() => hopKeysFromMaterial(rng(HOP_KEY_MATERIAL_LEN)));
}

function benchForwardPeel(p: CryptoProvider): RateResult {
  const keys = threeHopKeys();
  const client = new ClientLayers(p);
  keys.forEach((k) => client.addHop(k));
  const body = rng(100);
  const cells = Array.from({ length: BATCH }, () => client.encryptForward(2, body, rng));
  const scratch = new Uint8Array(CELL_PAYLOAD_LEN);
  let layer = new RelayLayer(p, keys[0]!);
  let i = 0;
  return measureRate((n) => {
    for (let k = 0; k < n; k++) {
      if (i === BATCH) {
        layer = new RelayLayer(p, keys[0]!);
        i = 0;
      }
      scratch.set(cells[i++]!);
      const r = layer.processForward(scratch);
      if (r.recognized) throw new Error('bench: a middle hop recognised a cell for hop 3');
    }
  });
}

function benchBackwardLayer(p: CryptoProvider): RateResult {
  const layer = new RelayLayer(p, threeHopKeys()[1]!);
  const cell = rng(CELL_PAYLOAD_LEN);
  return measureRate((n) => {
    for (let k = 0; k < n; k++) layer.relayBackward(cell);
  });
}

function benchClientBothWays(p: CryptoProvider): { forward: RateResult; backward: RateResult; both: number } {
  const keys = threeHopKeys();
  const client = new ClientLayers(p);
  keys.forEach((k) => client.addHop(k));
  const body = rng(400);
  const forward = measureRate((n) => {
    for (let k = 0; k < n; k++) client.encryptForward(2, body, rng);
  });

  // Backward cells from hop 3, relayed by hops 2 and 1, precomputed in order.
  const cells: Uint8Array[] = [];
  const relays = keys.map((k) => new RelayLayer(p, k));
  for (let k = 0; k < BATCH; k++) {
    const c = relays[2]!.originateBackward(body, rng);
    relays[1]!.relayBackward(c);
    relays[0]!.relayBackward(c);
    cells.push(c);
  }
  const scratch = new Uint8Array(CELL_PAYLOAD_LEN);
  let reader = freshClient(p, keys);
  let i = 0;
  const backward = measureRate((n) => {
    for (let k = 0; k < n; k++) {
      if (i === BATCH) {
        reader = freshClient(p, keys);
        i = 0;
      }
      scratch.set(cells[i++]!);
      if (reader.decryptBackward(scratch).hop !== 2) throw new Error('bench: wrong origin hop');
    }
  });
  const both = 2 / (1 / forward.median + 1 / backward.median);
  return { forward, backward, both };
}

function freshClient(p: CryptoProvider, keys: HopKeys[]): ClientLayers {
  const c = new ClientLayers(p);
  keys.forEach((k) => c.addHop(k));
  return c;
}

function benchNtorServer(p: CryptoProvider): RateResult {
  const nodeId = rng(32);
  const b = rng(32);
  const onion = { secret: b, public: p.x25519PublicKey(b) };
  const lookup = ntorOnionKeyLookup(p, [onion]);
  const skins = Array.from({ length: 512 }, () => ntorClientCreate(p, rng, { nodeId, onionKey: onion.public }).onionskin);
  let cache = new ReplayCache();
  let i = 0;
  return measureRate((n) => {
    for (let k = 0; k < n; k++) {
      if (i === skins.length) {
        cache = new ReplayCache();
        i = 0;
      }
      ntorServerRespond(p, rng, skins[i++]!, lookup, nodeId, { cache, now: 0 });
    }
  }, { runs: 5, runMs: 400 });
}

function benchNoiseResponder(p: CryptoProvider): RateResult {
  const relayStatic = rng(32);
  const relayPublic = p.x25519PublicKey(relayStatic);
  const firsts = Array.from({ length: 256 }, () => {
    const init = new HandshakeState({ provider: p, pattern: 'NK', role: 'initiator', rng, remoteStaticPublic: relayPublic });
    return init.writeMessage();
  });
  let i = 0;
  return measureRate((n) => {
    for (let k = 0; k < n; k++) {
      const resp = new HandshakeState({ provider: p, pattern: 'NK', role: 'responder', rng, localStaticSecret: relayStatic });
      resp.readMessage(firsts[i++ % firsts.length]!);
      resp.writeMessage();
      resp.finish();
    }
  }, { runs: 5, runMs: 400 });
}

interface ProviderFigures {
  forwardPeelCellsPerSec: number;
  backwardLayerCellsPerSec: number;
  clientCircuitCellsPerSec: number;
  clientForwardCellsPerSec: number;
  clientBackwardCellsPerSec: number;
  ntorServerPerSec: number;
  noiseHandshakesPerSec: number;
  slowRunP5: Record<string, number>;
}

function main(): void {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.includes('--provider') ? args[args.indexOf('--provider') + 1] : undefined;
  const providers = allCryptoProviders().filter((p) => !only || p.name === only);
  const out: Record<string, ProviderFigures> = {};
  for (const p of providers) {
    if (!json) process.stderr.write(`benchmarking ${p.name}…\n`);
    const fwd = benchForwardPeel(p);
    const bwd = benchBackwardLayer(p);
    const client = benchClientBothWays(p);
    const ntor = benchNtorServer(p);
    const noise = benchNoiseResponder(p);
    out[p.name] = {
      forwardPeelCellsPerSec: Math.round(fwd.median),
      backwardLayerCellsPerSec: Math.round(bwd.median),
      clientCircuitCellsPerSec: Math.round(client.both),
      clientForwardCellsPerSec: Math.round(client.forward.median),
      clientBackwardCellsPerSec: Math.round(client.backward.median),
      ntorServerPerSec: Math.round(ntor.median),
      noiseHandshakesPerSec: Math.round(noise.median),
      slowRunP5: {
        forwardPeelCellsPerSec: Math.round(fwd.p5),
        backwardLayerCellsPerSec: Math.round(bwd.p5),
        ntorServerPerSec: Math.round(ntor.p5),
        noiseHandshakesPerSec: Math.round(noise.p5),
      },
    };
  }
  if (json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const rows: [string, keyof ProviderFigures][] = [
    ['relay hop: forward verify+peel (cells/s)', 'forwardPeelCellsPerSec'],
    ['relay hop: backward layer (cells/s)', 'backwardLayerCellsPerSec'],
    ['client 3-hop, both ways (cells/s)', 'clientCircuitCellsPerSec'],
    ['  client forward build for hop 3', 'clientForwardCellsPerSec'],
    ['  client backward accept from hop 3', 'clientBackwardCellsPerSec'],
    ['ntor server handshakes/s', 'ntorServerPerSec'],
    ['Noise NK responder handshakes/s', 'noiseHandshakesPerSec'],
  ];
  const names = Object.keys(out);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  console.log(`chive crypto benchmark — medians of timed runs, one core\nmachine: ${machineLine()}\n`);
  console.log(['operation'.padEnd(w0), ...names.map((n) => n.padStart(12))].join('  '));
  for (const [label, key] of rows) {
    console.log([label.padEnd(w0), ...names.map((n) => fmtRate(out[n]![key] as number).padStart(12))].join('  '));
  }
}

main();
