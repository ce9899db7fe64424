/**
 * The relay's cell engine: accepts links, keeps the circuit table, answers CREATE2, forwards
 * RELAY cells both ways, destroys circuits, and hands recognised relay messages to
 * relay/relay-messages.ts. Everything a stranger sends is handled here without throwing out:
 * a bad cell closes its circuit (or its link, for link-level garbage), never the process.
 *
 * Not the daemon around it (keys on disk, descriptor upload, config, metrics server: see
 * relay/daemon.ts) and not the exit's TCP side (relay/exit.ts).
 */
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { isChiveError } from '../src/errors.js';
import { ntorOnionKeyLookup, ntorServerRespond } from '../src/handshake/ntor.js';
import { ReplayCache } from '../src/handshake/replay-cache.js';
import type { Link } from '../src/io/link.js';
import { startLinkServer, type LinkServer } from '../src/io/link-server.js';
import { hopKeysFromMaterial } from '../src/onion/hop-keys.js';
import { OnionScratch, RelayLayer } from '../src/onion/relay-layer.js';
import { encodeCell, readCellCircId, readCellCommand, decodeCell } from '../src/wire/cell.js';
import { CELL_PAYLOAD_LEN, CellCommand, DestroyReason, HandshakeType } from '../src/wire/constants.js';
import type { ExitPolicy } from '../src/dirdoc/index.js';
import { encodeRelayMessage, type RelayMessage } from '../src/wire/relay-message.js';
import { LinkState, RelayCircuit, type CircuitSide } from './circuit.js';
import { handleRecognized } from './relay-messages.js';
import { NeighbourLinks, type RelayDirectoryView } from './neighbours.js';
import { RelayCounters, type RefusalReason } from './counters.js';
import { runOomHandler } from './oom.js';
import { relayCellScheduler } from './bandwidth-limit.js';
import type { CellScheduler } from './cell-scheduler.js';
import { RelayChatRoles } from './chat-messages.js';
import type { RelayKeys } from './keys.js';
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from './limits.js';

export { DEFAULT_RELAY_LIMITS, type RelayLimits } from './limits.js';


export interface RelayNodeOptions {
  provider: CryptoProvider;
  rng: Rng;
  keys: RelayKeys;
  host?: string;
  port?: number;
  /** Exit policy; null = not an exit (the default). */
  exitPolicy?: ExitPolicy | null;
  limits?: Partial<RelayLimits>;
  /** Where EXTEND2 targets and XK initiators are checked (the consensus the relay holds). */
  directory: RelayDirectoryView;
  now?: () => number;
  /** Reports unexpected internal errors (never peer errors). */
  onInternalError?: (e: unknown) => void;
}

export class RelayNode {
  readonly counters = new RelayCounters();
  readonly limits: RelayLimits;
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly keys: RelayKeys;
  readonly exitPolicy: ExitPolicy | null;
  readonly now: () => number;
  readonly links = new Map<Link, LinkState>();
  readonly neighbours: NeighbourLinks;
  readonly replayCache: ReplayCache;
  private server: LinkServer | null = null;
  private circuitCount = 0;
  private serial = 0;
  private closing = false;
  /** Reused payload buffer for cells this relay originates. */
  readonly scratch = new Uint8Array(CELL_PAYLOAD_LEN);
  /** Per-call scratch shared by every circuit's onion layer. */
  private readonly onionScratch: OnionScratch;
  /** Introduction point, rendezvous point and HSDir tables. */
  readonly chat: RelayChatRoles;
  /** With a bandwidth limit: RELAY cells wait their turn here (relay/cell-scheduler.ts); null = straight to the link. */
  readonly scheduler: CellScheduler<RelayCircuit> | null;
  /** Set by the daemon when the accounting limit is reached (relay/accounting.ts): new circuits are refused. */
  hibernating = false;

  constructor(private readonly options: RelayNodeOptions) {
    this.provider = options.provider;
    this.rng = options.rng;
    this.keys = options.keys;
    this.exitPolicy = options.exitPolicy ?? null;
    this.now = options.now ?? Date.now;
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    this.replayCache = new ReplayCache({ maxEntries: this.limits.replayCacheEntries });
    this.onionScratch = new OnionScratch(this.provider);
    this.neighbours = new NeighbourLinks(this, options.directory);
    this.chat = new RelayChatRoles(this);
    this.scheduler = relayCellScheduler(this);
  }

  get url(): string {
    if (!this.server) throw new Error('relay not started');
    return this.server.url;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  get circuits(): number {
    return this.circuitCount;
  }

  private idleSweep: NodeJS.Timeout | null = null;

  /** Closes links that have carried no circuit for `limits.linkIdleMs`. */
  private sweepIdleLinks(): void {
    const t = this.now();
    for (const state of this.links.values()) {
      if (state.circuits.size > 0) state.emptySince = null;
      else if (state.emptySince === null) state.emptySince = t;
      else if (t - state.emptySince >= this.limits.linkIdleMs) state.link.close('idle: no circuits');
    }
    this.chat.sweep();
  }

  async start(): Promise<void> {
    this.idleSweep = setInterval(() => this.sweepIdleLinks(), Math.min(60_000, Math.max(1_000, this.limits.linkIdleMs / 4)));
    this.idleSweep.unref();
    this.server = await startLinkServer({
      provider: this.provider,
      rng: this.rng,
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port ?? 0,
      linkStaticSecret: this.keys.linkSecret,
      maxLinks: this.limits.maxLinks,
      maxQueuedBytes: this.limits.maxQueuedBytesPerLink,
      keepaliveMs: this.limits.keepaliveMs,
      onLink: (link) => this.attachLink(link),
      onError: (e) => this.internalError(e),
    });
  }

  /** Registers a link (accepted or dialled) and starts handling its cells. */
  attachLink(link: Link): LinkState {
    const state = new LinkState(link, this.limits.createBurst, this.now());
    this.links.set(link, state);
    this.counters.linksOpened += 1;
    if (link.role === 'responder' && link.remoteStatic) this.neighbours.adoptInbound(state);
    link.onCell((buf, off) => this.onCell(state, buf, off));
    link.onDrain(() => this.onLinkDrain(state));
    link.onClose(() => this.onLinkClosed(state));
    return state;
  }

  // --- cells --------------------------------------------------------------------------

  private onCell(state: LinkState, buf: Uint8Array, off: number): void {
    const circId = readCellCircId(buf, off);
    const command = readCellCommand(buf, off);
    this.counters.cellsIn += 1;
    switch (command) {
      case CellCommand.RELAY: {
        const circ = state.circuits.get(circId);
        if (!circ) {
          this.counters.refuse('unknown_circuit');
          return;
        }
        const payload = buf.subarray(off + 5, off + 5 + CELL_PAYLOAD_LEN);
        if (circ.prev.link === state.link && circ.prev.circId === circId) this.forward(circ, payload);
        else this.backward(circ, payload);
        return;
      }
      case CellCommand.CREATE2:
        this.onCreate2(state, circId, buf.subarray(off, off + 514));
        return;
      case CellCommand.CREATED2:
        this.onCreated2(state, circId, buf.subarray(off, off + 514));
        return;
      case CellCommand.DESTROY: {
        const circ = state.circuits.get(circId);
        if (circ) this.destroyCircuit(circ, DestroyReason.DESTROYED, state.link);
        return;
      }
      case CellCommand.PADDING:
        return;
      default:
        this.counters.refuse('bad_cell');
        state.link.close(`unrecognized cell command ${command}`);
    }
  }

  private forward(circ: RelayCircuit, payload: Uint8Array): void {
    let result;
    try {
      result = circ.layer.processForward(payload);
    } catch {
      this.counters.refuse('bad_tag');
      this.destroyCircuit(circ, DestroyReason.PROTOCOL, null);
      return;
    }
    if (result.recognized) {
      this.scheduler?.chargeReadCell();
      try {
        handleRecognized(this, circ, result.body);
      } catch (e) {
        if (!isChiveError(e) || e.fault === 'local') this.internalError(e);
        this.counters.refuse('bad_relay_message');
        this.destroyCircuit(circ, DestroyReason.PROTOCOL, null);
      }
      return;
    }
    if (circ.spliced) {
      // A rendezvous point: the cell is for the peer beyond; it travels backward on the other circuit.
      this.backward(circ.spliced, payload);
      return;
    }
    if (!circ.next || circ.extending) {
      this.counters.refuse('no_next_hop');
      this.destroyCircuit(circ, DestroyReason.PROTOCOL, null);
      return;
    }
    this.counters.cellsOut += 1;
    if (this.scheduler) return this.scheduler.send(circ, circ.next, payload, true);
    const next = circ.next.link;
    next.sendCell(circ.next.circId, CellCommand.RELAY, payload);
    if (next.congested) this.checkMemory();
  }

  private backward(circ: RelayCircuit, payload: Uint8Array): void {
    circ.layer.relayBackward(payload);
    this.counters.cellsOut += 1;
    if (this.scheduler) return this.scheduler.send(circ, circ.prev, payload, true);
    const prev = circ.prev.link;
    prev.sendCell(circ.prev.circId, CellCommand.RELAY, payload);
    if (prev.congested) this.checkMemory();
  }

  /** The out-of-memory handler (relay/oom.ts): runs when a link we write to is congested. */
  checkMemory(): void {
    runOomHandler(this);
  }

  private onCreate2(state: LinkState, circId: number, cellBytes: Uint8Array): void {
    const link = state.link;
    if (!state.isValidRemoteCircId(circId)) {
      this.counters.refuse('bad_circ_id');
      this.sendDestroy(link, circId, DestroyReason.PROTOCOL);
      return;
    }
    const existing = state.circuits.get(circId);
    if (existing) {
      this.counters.refuse('circ_id_in_use');
      this.destroyCircuit(existing, DestroyReason.PROTOCOL, null);
      return;
    }
    if (this.hibernating) return this.refuseCreate(link, circId, 'hibernating');
    if (!this.takeCreateToken(state)) return this.refuseCreate(link, circId, 'create_rate');
    if (this.circuitCount >= this.limits.maxCircuits) return this.refuseCreate(link, circId, 'max_circuits');
    if (state.circuits.size >= this.limits.maxCircuitsPerLink) return this.refuseCreate(link, circId, 'max_circuits_per_link');
    let keyMaterial: Uint8Array;
    let reply: Uint8Array;
    try {
      const cell = decodeCell(cellBytes);
      if (cell.kind !== 'CREATE2' || cell.handshakeType !== HandshakeType.NTOR) throw new Error('not an ntor CREATE2');
      const lookup = ntorOnionKeyLookup(this.provider, this.keys.onionKeys());
      ({ keyMaterial, reply } = ntorServerRespond(this.provider, this.rng, cell.handshakeData, lookup, this.keys.identity, {
        cache: this.replayCache,
        now: this.now(),
      }));
      this.counters.handshakes.ntorOk += 1;
    } catch (e) {
      this.counters.handshakes.ntorFail += 1;
      const reason: RefusalReason = isChiveError(e, 'HANDSHAKE_REPLAY') ? 'replay' : 'bad_handshake';
      return this.refuseCreate(link, circId, reason);
    }
    const layer = new RelayLayer(this.provider, hopKeysFromMaterial(keyMaterial), this.onionScratch);
    keyMaterial.fill(0);
    const circ = new RelayCircuit(this.provider, ++this.serial, { link, circId }, layer, this.now());
    state.circuits.set(circId, circ);
    this.circuitCount += 1;
    this.counters.circuitsCreated += 1;
    link.sendRawCell(encodeCell({ kind: 'CREATED2', circId, handshakeData: reply }, this.rng));
  }

  private onCreated2(state: LinkState, circId: number, cellBytes: Uint8Array): void {
    const circ = state.circuits.get(circId);
    if (!circ || !circ.extending || circ.next?.link !== state.link || circ.next.circId !== circId) {
      this.counters.refuse('unexpected_created2');
      if (circ) this.destroyCircuit(circ, DestroyReason.PROTOCOL, null);
      return;
    }
    circ.extending = false;
    try {
      const cell = decodeCell(cellBytes);
      if (cell.kind !== 'CREATED2') throw new Error('not CREATED2');
      this.sendBackward(circ, { kind: 'EXTENDED2', handshakeData: cell.handshakeData });
    } catch {
      this.destroyCircuit(circ, DestroyReason.PROTOCOL, null);
    }
  }

  private takeCreateToken(state: LinkState): boolean {
    if (this.limits.createRate <= 0) return true; // 0 = unlimited
    const t = this.now();
    const refill = ((t - state.createTokensAt) / 1000) * this.limits.createRate;
    state.createTokens = Math.min(this.limits.createBurst, state.createTokens + refill);
    state.createTokensAt = t;
    if (state.createTokens < 1) return false;
    state.createTokens -= 1;
    return true;
  }

  private refuseCreate(link: Link, circId: number, reason: RefusalReason): void {
    this.counters.refuse(reason);
    this.sendDestroy(link, circId, DestroyReason.RESOURCE_LIMIT);
  }

  // --- originating and destroying ------------------------------------------------------

  /** Seals a relay message from this hop towards the client; returns the tag it carries. */
  sendBackward(circ: RelayCircuit, msg: RelayMessage): Uint8Array {
    const body = encodeRelayMessage(msg);
    circ.layer.originateBackward(body, this.rng, this.scratch);
    this.counters.cellsOut += 1;
    if (this.scheduler) {
      this.scheduler.send(circ, circ.prev, this.scratch, false);
      return circ.layer.lastOriginatedTag;
    }
    const prev = circ.prev.link;
    prev.sendCell(circ.prev.circId, CellCommand.RELAY, this.scratch);
    if (prev.congested) this.checkMemory();
    return circ.layer.lastOriginatedTag;
  }

  sendDestroy(link: Link, circId: number, reason: number): void {
    link.sendRawCell(encodeCell({ kind: 'DESTROY', circId, reason }, this.rng));
  }

  /**
   * Tears a circuit down at this hop, telling the side(s) it did not come from. `from` is
   * the link a DESTROY arrived on (not answered), or null when this hop decided.
   */
  destroyCircuit(circ: RelayCircuit, reason: number, from: Link | null): void {
    if (circ.closed) return;
    circ.closed = true;
    const sides: CircuitSide[] = [circ.prev];
    if (circ.next) sides.push(circ.next);
    for (const side of sides) {
      this.links.get(side.link)?.circuits.delete(side.circId);
      if (side.link !== from && !side.link.closed) this.sendDestroy(side.link, side.circId, reason);
    }
    if (circ.hasStreams) for (const s of [...circ.streams.values()]) s.close();
    if (circ.chatRole) this.chat.forget(circ);
    circ.layer.destroy();
    const spliced = circ.spliced;
    if (spliced) {
      circ.spliced = null;
      spliced.spliced = null;
      this.destroyCircuit(spliced, reason, null);
    }
    this.circuitCount -= 1;
    this.counters.circuitsDestroyed += 1;
  }

  private onLinkClosed(state: LinkState): void {
    this.links.delete(state.link);
    this.neighbours.forget(state);
    this.counters.linksClosed += 1;
    for (const circ of [...state.circuits.values()]) this.destroyCircuit(circ, DestroyReason.CHANNEL_CLOSED, state.link);
  }

  private onLinkDrain(state: LinkState): void {
    for (const circ of state.circuits.values()) {
      if (circ.prev.link === state.link && circ.hasStreams) for (const s of circ.streams.values()) s.flushPending();
    }
  }

  /** Total bytes queued on every link (for the OOM check and metrics). */
  queuedBytes(): number {
    let n = 0;
    for (const s of this.links.values()) n += s.link.bufferedBytes;
    return n;
  }

  internalError(e: unknown): void {
    this.counters.internalErrors += 1;
    this.options.onInternalError?.(e);
  }

  /** DESTROYs every circuit, closes every link and the listener. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.idleSweep) clearInterval(this.idleSweep);
    for (const state of [...this.links.values()]) {
      for (const circ of [...state.circuits.values()]) this.destroyCircuit(circ, DestroyReason.FINISHED, null);
    }
    this.scheduler?.close();
    this.neighbours.closeAll();
    await this.server?.close();
    for (const state of [...this.links.values()]) state.link.close('relay shutting down');
  }
}
