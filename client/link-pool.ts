/**
 * The client's links: one Noise NK link per first-hop relay, shared by every circuit that
 * starts there (docs/PROTOCOL.md §5b, "Circuit ids").
 *
 * - `get(relay)` returns the open link to that relay, dialling it when there is none;
 *   concurrent calls share one dial, and a failed dial is forgotten so the next call retries.
 * - Each link has ONE cell handler (set here) that reads the circuit id of each cell and
 *   hands the cell to the circuit registered under it (`register`). Cells for ids nobody
 *   registered (a DESTROY that crossed ours, padding) are counted and dropped.
 * - `allocateCircId(link)` picks a random u32 with CIRC_ID_INITIATOR_BIT set (the client
 *   always initiated its links) that is not in use on that link.
 * - When a link closes every circuit on it hears `onLinkClosed`, and the pool forgets the
 *   link; when a congested link drains every circuit on it hears `onLinkDrain`.
 *
 * Not here: what circuits do with cells (circuit.ts), guard choice, idle-link policy (links
 * stay open until `close()` or the peer closes them; `link` options may set an idle timeout).
 */
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import type { LinkCloseReason } from '../src/io/link-close.js';
import { connectLink } from '../src/io/link-connect.js';
import type { LinkOptions } from '../src/io/link-options.js';
import type { Link } from '../src/io/link.js';
import { readCellCircId } from '../src/wire/cell.js';
import { CIRC_ID_INITIATOR_BIT } from '../src/wire/constants.js';
import { checkRelayInfo, relayKey, type RelayInfo } from './relay-info.js';

/** What a circuit registers on a link to receive its cells and the link's events. */
export interface CircuitCellSink {
  /** One cell for this circuit: `buf[offset .. offset + CELL_LEN)`, valid only during the call. */
  onCell(buf: Uint8Array, offset: number): void;
  /** The link closed: the circuit is gone. */
  onLinkClosed(reason: LinkCloseReason): void;
  /** The link fell below its low-water mark: blocked senders may go on. */
  onLinkDrain(): void;
}

export interface LinkPoolOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  /** Upgrade + Noise handshake limit per dial (default: connectLink's). */
  readonly connectTimeoutMs?: number;
  /** Options for every link dialled (idle timeout, keepalive, water marks). */
  readonly link?: LinkOptions;
}

/** How many random draws allocateCircId makes before giving up (each hits a used id with p ≤ used / 2^31). */
const MAX_CIRC_ID_DRAWS = 64;

interface LinkEntry {
  readonly link: Link;
  readonly circuits: Map<number, CircuitCellSink>;
}

export class LinkPool {
  private readonly provider: CryptoProvider;
  private readonly rng: Rng;
  private readonly connectTimeoutMs: number | undefined;
  private readonly linkOptions: LinkOptions;
  private readonly open = new Map<string, LinkEntry>();
  private readonly dialling = new Map<string, Promise<Link>>();
  private readonly entries = new Map<Link, LinkEntry>();
  private isClosed = false;
  /** Cells that arrived for a circuit id nobody registered (dropped). */
  unknownCircuitCells = 0;

  constructor(options: LinkPoolOptions) {
    this.provider = options.provider;
    this.rng = options.rng;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.linkOptions = options.link ?? {};
    if (this.connectTimeoutMs !== undefined && !(this.connectTimeoutMs > 0)) {
      throw new ChiveError('INVALID_ARGUMENT', 'connectTimeoutMs must be a positive number');
    }
  }

  /** Open links in the pool. */
  get size(): number {
    return this.entries.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The open NK link to `relay`, dialled when needed. Rejects with connectLink's errors, or LINK_CLOSED once the pool is closed. */
  get(relay: RelayInfo): Promise<Link> {
    if (this.isClosed) return Promise.reject(new ChiveError('LINK_CLOSED', 'the link pool is closed'));
    try {
      checkRelayInfo(relay);
    } catch (e) {
      return Promise.reject(e);
    }
    const key = relayKey(relay);
    const existing = this.open.get(key);
    if (existing !== undefined && !existing.link.closed) return Promise.resolve(existing.link);
    const pending = this.dialling.get(key);
    if (pending !== undefined) return pending;
    const dial = this.dial(key, relay);
    this.dialling.set(key, dial);
    return dial;
  }

  /** A random circuit id with the initiator bit set, unused on `link`. IDS_EXHAUSTED if none is found. */
  allocateCircId(link: Link): number {
    const circuits = this.entryOf(link).circuits;
    for (let draw = 0; draw < MAX_CIRC_ID_DRAWS; draw++) {
      const r = this.rng(4);
      if (!(r instanceof Uint8Array) || r.length !== 4) {
        throw new ChiveError('INVALID_ARGUMENT', 'the rng must return the number of bytes asked for');
      }
      const id = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]! | CIRC_ID_INITIATOR_BIT) >>> 0;
      if (!circuits.has(id)) return id;
    }
    throw new ChiveError('IDS_EXHAUSTED', `no free circuit id on this link after ${MAX_CIRC_ID_DRAWS} draws (${circuits.size} in use)`);
  }

  /** Routes the cells of `circId` on `link` to `sink`. INVALID_ARGUMENT if the id is taken or lacks the initiator bit. */
  register(link: Link, circId: number, sink: CircuitCellSink): void {
    const entry = this.entryOf(link);
    if (circId >>> 0 !== circId || (circId & CIRC_ID_INITIATOR_BIT) === 0) {
      throw new ChiveError('INVALID_ARGUMENT', `circuit id ${circId} must be a u32 with the initiator bit set`);
    }
    if (entry.circuits.has(circId)) throw new ChiveError('INVALID_ARGUMENT', `circuit id ${circId} is already in use on this link`);
    entry.circuits.set(circId, sink);
  }

  /** Stops routing `circId` on `link` (a no-op when it is not registered or the link is gone). */
  unregister(link: Link, circId: number): void {
    this.entries.get(link)?.circuits.delete(circId);
  }

  /** Circuits registered on `link` now (0 for a link the pool no longer holds). */
  circuitCount(link: Link): number {
    return this.entries.get(link)?.circuits.size ?? 0;
  }

  /** Closes every link (their circuits hear onLinkClosed with code LOCAL); later gets reject. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const entry of [...this.entries.values()]) entry.link.close('link pool closed');
  }

  private async dial(key: string, relay: RelayInfo): Promise<Link> {
    let link: Link;
    try {
      link = await connectLink({
        ...this.linkOptions,
        provider: this.provider, rng: this.rng, url: relay.url, pattern: 'NK', remoteStatic: relay.linkKey,
        ...(this.connectTimeoutMs !== undefined ? { timeoutMs: this.connectTimeoutMs } : {}),
      });
    } finally {
      this.dialling.delete(key);
    }
    if (this.isClosed) {
      link.close('link pool closed');
      throw new ChiveError('LINK_CLOSED', 'the link pool closed while the link was being dialled');
    }
    this.adopt(key, link);
    return link;
  }

  private adopt(key: string, link: Link): void {
    const circuits = new Map<number, CircuitCellSink>();
    const entry: LinkEntry = { link, circuits };
    this.open.set(key, entry);
    this.entries.set(link, entry);
    link.onCell((buf, offset) => {
      const sink = circuits.get(readCellCircId(buf, offset));
      if (sink !== undefined) sink.onCell(buf, offset);
      else this.unknownCircuitCells += 1;
    });
    link.onDrain(() => {
      for (const sink of [...circuits.values()]) sink.onLinkDrain();
    });
    link.onClose((reason) => {
      if (this.open.get(key) === entry) this.open.delete(key);
      this.entries.delete(link);
      const sinks = [...circuits.values()];
      circuits.clear();
      for (const sink of sinks) sink.onLinkClosed(reason);
    });
  }

  private entryOf(link: Link): LinkEntry {
    const entry = this.entries.get(link);
    if (entry === undefined || link.closed) {
      throw new ChiveError('LINK_CLOSED', 'that link is closed or does not belong to this pool');
    }
    return entry;
  }
}
