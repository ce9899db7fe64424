/**
 * Building a circuit hop by hop (docs/PROTOCOL.md §5b, "Building"):
 * CREATE2 (ntor) to the first relay of the path over the pooled NK link, then EXTEND2 to
 * the last hop for each next relay (its link specifiers and the ntor onionskin for it),
 * adding each hop's keys to the onion layers once its reply verifies.
 *
 * Per-hop times (sending CREATE2 / EXTEND2 → receiving CREATED2 / EXTENDED2) land in
 * `circuit.hopTimesMs`, the whole build (link set-up included) in `circuit.buildMs`.
 * Every failure is a `CircuitBuildError` (a ChiveError that also names the 0-based hop
 * being added when it failed, for the caller's retry on another relay):
 *   - CIRCUIT_BUILD_TIMEOUT: not built within timeoutMs;
 *   - EXTEND_REFUSED: the last hop answered TRUNCATED (it could not reach the next relay);
 *   - CIRCUIT_BUILD_FAILED: no link, DESTROY instead of a reply, a reply that does not
 *     verify, the link closing (`cause` holds the underlying error).
 * A failed build destroys what it built (DESTROY goes to the first hop).
 * A build with `stub` stops short of marking the circuit built: a preemptive stub (guard
 * and middle) that extendCircuit later finishes with one EXTEND2 to the hop a request names
 * (Tor's cannibalized circuits), so a circuit to a chosen relay costs one round trip.
 *
 * Not here: choosing the path, learning the timeout, retrying (the circuit manager).
 */
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { ChiveError, isChiveError, type ErrorCode } from '../src/errors.js';
import { ntorClientCreate, ntorClientFinish } from '../src/handshake/ntor.js';
import type { Link } from '../src/io/link.js';
import { hopKeysFromMaterial } from '../src/onion/hop-keys.js';
import { DestroyReason, MAX_HOPS } from '../src/wire/constants.js';
import { ClientCircuit } from './circuit.js';
import type { LinkPool } from './link-pool.js';
import { checkRelayInfo, describeRelay, type RelayInfo } from './relay-info.js';

export interface BuildCircuitOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly pool: LinkPool;
  /** 1..MAX_HOPS relays, first hop first. */
  readonly path: readonly RelayInfo[];
  /** The whole build (link, every handshake) must finish within this many ms. */
  readonly timeoutMs: number;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
  /** Leave the circuit unmarked: a preemptive stub that extendCircuit will finish. */
  readonly stub?: boolean;
}

/** A failed circuit build: `hop` is the 0-based index in the path of the hop being added. */
export class CircuitBuildError extends ChiveError {
  readonly hop: number;

  constructor(code: ErrorCode, hop: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.hop = hop;
  }
}

export async function buildCircuit(options: BuildCircuitOptions): Promise<ClientCircuit> {
  const { provider, rng, pool, path, timeoutMs } = options;
  checkOptions(options);
  const now = options.now ?? (() => performance.now());
  const started = now();
  let circuit: ClientCircuit | null = null;
  let hop = 0;
  let timeoutError: CircuitBuildError | null = null;
  let timer: NodeJS.Timeout | undefined;

  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timeoutError = new CircuitBuildError(
        'CIRCUIT_BUILD_TIMEOUT', hop, `circuit not built within ${timeoutMs} ms (waiting for hop ${hop}, ${describeRelay(path[hop]!)})`,
      );
      circuit?.closeWith(timeoutError, DestroyReason.TIMEOUT);
      reject(timeoutError);
    }, timeoutMs);
  });
  deadline.catch(() => {}); // observed through the race below, or not at all

  try {
    const link: Link = await Promise.race([pool.get(path[0]!), deadline]);
    circuit = new ClientCircuit({ provider, rng, pool, link, circId: pool.allocateCircId(link), now });
    for (hop = 0; hop < path.length; hop++) {
      const relay = path[hop]!;
      const { state, onionskin } = ntorClientCreate(provider, rng, { nodeId: relay.identity, onionKey: relay.onionKey });
      const { reply, ms } = await (hop === 0 ? circuit.create(onionskin) : circuit.extend(relay, onionskin));
      const material = ntorClientFinish(provider, state, reply);
      try {
        circuit.addHop(relay, hopKeysFromMaterial(material), ms);
      } finally {
        material.fill(0);
      }
    }
    if (!options.stub) circuit.markBuilt(now() - started);
    return circuit;
  } catch (e) {
    const error = timeoutError ?? buildError(e, hop, path[Math.min(hop, path.length - 1)]!);
    circuit?.closeWith(error, isChiveError(e, 'HANDSHAKE_FAILED') ? DestroyReason.PROTOCOL : DestroyReason.FINISHED);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export interface ExtendCircuitOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  /** A circuit being built (not marked built): a preemptive stub. */
  readonly circuit: ClientCircuit;
  readonly relay: RelayInfo;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/**
 * Extends a preemptive stub (a circuit built but not marked built) by one hop to `relay`
 * and marks it built, with buildMs the time this last step took. The stub is destroyed on
 * failure (CircuitBuildError at hop = its former length).
 */
export async function extendCircuit(options: ExtendCircuitOptions): Promise<ClientCircuit> {
  const { provider, rng, circuit, relay, timeoutMs } = options;
  checkRelayInfo(relay, 'relay');
  const now = options.now ?? (() => performance.now());
  const started = now();
  const hop = circuit.hops.length;
  let timer: NodeJS.Timeout | undefined;
  let timeoutError: CircuitBuildError | null = null;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timeoutError = new CircuitBuildError('CIRCUIT_BUILD_TIMEOUT', hop, `extension to ${describeRelay(relay)} not done within ${timeoutMs} ms`);
      circuit.closeWith(timeoutError, DestroyReason.TIMEOUT);
      reject(timeoutError);
    }, timeoutMs);
  });
  deadline.catch(() => {});
  try {
    const { state, onionskin } = ntorClientCreate(provider, rng, { nodeId: relay.identity, onionKey: relay.onionKey });
    const { reply, ms } = await Promise.race([circuit.extend(relay, onionskin), deadline]);
    const material = ntorClientFinish(provider, state, reply);
    try {
      circuit.addHop(relay, hopKeysFromMaterial(material), ms);
    } finally {
      material.fill(0);
    }
    circuit.markBuilt(now() - started);
    return circuit;
  } catch (e) {
    const error = timeoutError ?? buildError(e, hop, relay);
    circuit.closeWith(error, isChiveError(e, 'HANDSHAKE_FAILED') ? DestroyReason.PROTOCOL : DestroyReason.FINISHED);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function buildError(e: unknown, hop: number, relay: RelayInfo): CircuitBuildError {
  if (e instanceof CircuitBuildError) return e;
  const what = `hop ${hop} (${describeRelay(relay)})`;
  const detail = e instanceof Error ? e.message : String(e);
  if (isChiveError(e, 'EXTEND_REFUSED')) {
    return new CircuitBuildError('EXTEND_REFUSED', hop, `extending to ${what}: ${detail}`, { cause: e });
  }
  return new CircuitBuildError('CIRCUIT_BUILD_FAILED', hop, `building ${what} failed: ${detail}`, { cause: e });
}

function checkOptions(options: BuildCircuitOptions): void {
  const { path, timeoutMs } = options;
  if (!Array.isArray(path) || path.length < 1 || path.length > MAX_HOPS) {
    throw new ChiveError('INVALID_ARGUMENT', `a circuit path has 1..${MAX_HOPS} relays`);
  }
  path.forEach((relay, i) => checkRelayInfo(relay, `path[${i}]`));
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new ChiveError('INVALID_ARGUMENT', 'buildCircuit needs a finite timeoutMs > 0');
  }
  if (options.pool === undefined || options.provider === undefined || typeof options.rng !== 'function') {
    throw new ChiveError('INVALID_ARGUMENT', 'buildCircuit needs a provider, an rng and a link pool');
  }
}
