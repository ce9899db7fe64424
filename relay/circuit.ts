/**
 * One circuit as a relay sees it, and the per-link table that finds it.
 *
 * A circuit has a previous side (the link and circuit id it was created on) and, once
 * extended, a next side; each side's link keeps a map circId → circuit, so a cell arriving
 * on (link, circId) finds its circuit in O(1) and knows its direction by comparing sides.
 * The circuit owns its onion layer, its exit streams and its flow-control windows.
 *
 * Not the cell handling (relay/relay-node.ts) and not the exit I/O (relay/exit.ts).
 */
import type { Link } from '../src/io/link.js';
import type { RelayLayer } from '../src/onion/relay-layer.js';
import { DeliverWindow, PackageWindow } from '../src/flow/sendme.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, CIRC_ID_INITIATOR_BIT,
} from '../src/wire/constants.js';
import type { ExitStream } from './exit.js';
import type { CircuitChatRole } from './rendezvous-points.js';

export interface CircuitSide {
  readonly link: Link;
  readonly circId: number;
}

export class RelayCircuit {
  next: CircuitSide | null = null;
  /** Set while an EXTEND2 waits for the next hop's CREATED2. */
  extending = false;
  closed = false;
  /**
   * At a rendezvous point: the other party's circuit, once RENDEZVOUS1 spliced them. A
   * forward cell this hop does not recognise goes backward on it (and vice versa).
   */
  spliced: RelayCircuit | null = null;
  /** The circuit's chat role here (introduction or waiting rendezvous), for its table. */
  chatRole: CircuitChatRole | null = null;
  private streamMap: Map<number, ExitStream> | null = null;
  private packageW: PackageWindow | null = null;
  private deliverW: DeliverWindow | null = null;
  /** Bytes this circuit has queued towards its previous hop, for the OOM handler. */
  queuedSince = 0;

  constructor(
    private readonly provider: CryptoProvider,
    readonly serial: number,
    readonly prev: CircuitSide,
    readonly layer: RelayLayer,
    readonly createdAt: number,
  ) {}

  // Streams and windows exist only at exits and only once used: most circuits a relay
  // carries are middle hops, and memory per circuit is what limits a relay.

  /** Exit streams of this circuit, by stream id. */
  get streams(): Map<number, ExitStream> {
    return (this.streamMap ??= new Map());
  }

  /** Backward DATA this hop originates (as an exit). */
  get packageWindow(): PackageWindow {
    return (this.packageW ??= new PackageWindow(this.provider, CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT));
  }

  /** Forward DATA delivered to this hop (as an exit). */
  get deliverWindow(): DeliverWindow {
    return (this.deliverW ??= new DeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT));
  }

  /** True when the circuit has exit streams (without creating the map). */
  get hasStreams(): boolean {
    return this.streamMap !== null && this.streamMap.size > 0;
  }
}

/** What the relay keeps per link. */
export class LinkState {
  readonly circuits = new Map<number, RelayCircuit>();
  /** The neighbour's identity (hex) when the link is to a relay we know, else null. */
  neighbourIdentity: string | null = null;
  /** Token bucket for CREATE2 from this link. */
  createTokens: number;
  createTokensAt: number;
  /** Since when the link has had no circuit (null while it has some), for the idle sweep. */
  emptySince: number | null = null;

  constructor(readonly link: Link, createBurst: number, now: number) {
    this.createTokens = createBurst;
    this.createTokensAt = now;
  }

  /** A fresh circuit id for a CREATE2 we send on this link (high bit per link role). */
  allocateCircId(rng: (n: number) => Uint8Array): number {
    const bit = this.link.role === 'initiator' ? CIRC_ID_INITIATOR_BIT : 0;
    for (;;) {
      const r = rng(4);
      const id = ((((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) & 0x7fff_ffff) | bit) >>> 0;
      if (id !== 0 && !this.circuits.has(id)) return id;
    }
  }

  /** True when `circId` carries the high bit the link's remote side must use. */
  isValidRemoteCircId(circId: number): boolean {
    if (circId === 0) return false;
    const remoteIsInitiator = this.link.role === 'responder';
    return ((circId & CIRC_ID_INITIATOR_BIT) !== 0) === remoteIsInitiator;
  }
}
