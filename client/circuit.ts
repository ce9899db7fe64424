/**
 * A client circuit: the client's end of one circuit through 1..MAX_HOPS relays, over a
 * pooled NK link to its first hop (docs/PROTOCOL.md §5b).
 *
 * It owns the circuit's onion layers, its streams, its circuit-level flow control (per hop:
 * a package window for the DATA it sends there, a deliver window for the DATA that hop
 * sends back, SENDMEs echoing onion tags) and its life: any of DESTROY from the network,
 * the link closing, a backward cell that fails its tag (decryptBackward) or a message
 * that is not allowed in the circuit's state closes it with a typed ChiveError, sends
 * DESTROY when the fault is not the network's own teardown, and fails every open stream
 * with that error. Messages that are neither stream, flow-control nor build messages
 * (the chat commands) go to `onMessage` handlers; with no handler they close the circuit,
 * since a silently dropped cell would be a side channel.
 *
 * Built by circuit-builder.ts, which drives `create` / `extend` / `addHop` / `markBuilt`
 * (marked "builder only"). Not here: path choice, retries, SOCKS, the stream's byte I/O
 * (stream.ts).
 */
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import type { LinkCloseReason } from '../src/io/link-close.js';
import type { Link } from '../src/io/link.js';
import { ClientLayers } from '../src/onion/client-layers.js';
import type { HopKeys } from '../src/onion/hop-keys.js';
import { decodeCell, encodeCell, readCellCommand, readCellPayload } from '../src/wire/cell.js';
import {
  CELL_LEN, CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, CellCommand, DestroyReason, HandshakeType,
  ONION_BODY_LEN, SENDME_VERSION,
} from '../src/wire/constants.js';
import { linkSpecifiersFor } from '../src/wire/link-specifiers.js';
import { decodeRelayMessageInCell, maxRelayDataLen, writeRelayMessage, type RelayMessage } from '../src/wire/relay-message.js';
import { CircuitStreams, type StreamMessage, type StreamTransport } from './circuit-streams.js';
import type { CircuitCellSink, LinkPool } from './link-pool.js';
import type { RelayInfo } from './relay-info.js';
import { destroyReasonName } from './reason-names.js';
import { DeferredDeliverWindow, PackageWindow } from './sendme.js';
import type { ClientStream } from './stream.js';
import { PeerEnd, type PeerFrameHandler } from './peer-end.js';

export interface ClientCircuitOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly pool: LinkPool;
  /** The open link to the first hop (from the pool). */
  readonly link: Link;
  /** A circuit id from pool.allocateCircId(link). */
  readonly circId: number;
  /** Clock in ms for build and stream timings (performance.now by default). */
  readonly now?: () => number;
}

/** A relay message from hop `hop` (0-based); `msg` holds views valid only during the call. */
export type RelayMessageHandler = (hop: number, msg: RelayMessage) => void;
export type CircuitCloseHandler = (error: ChiveError) => void;

/** The handshake reply of a hop and its round trip, as measured from sending CREATE2 / EXTEND2. */
export interface HandshakeReply {
  readonly reply: Uint8Array;
  readonly ms: number;
}

interface HopFlow {
  readonly package: PackageWindow;
  readonly deliver: DeferredDeliverWindow;
}

interface PendingReply {
  readonly kind: 'CREATED2' | 'EXTENDED2';
  readonly sentAt: number;
  readonly resolve: (reply: HandshakeReply) => void;
  readonly reject: (error: ChiveError) => void;
}

export class ClientCircuit implements CircuitCellSink, StreamTransport {
  readonly circId: number;
  readonly link: Link;
  /** Round trip of each hop's CREATE2 / EXTEND2 → CREATED2 / EXTENDED2, in ms. */
  readonly hopTimesMs: number[] = [];
  /** Whole build time in ms (link included), set when the build finished. */
  buildMs = 0;
  readonly now: () => number;

  private readonly provider: CryptoProvider;
  private readonly rng: Rng;
  private readonly pool: LinkPool;
  private readonly layers: ClientLayers;
  private readonly hopList: RelayInfo[] = [];
  private readonly flows: HopFlow[] = [];
  private readonly streams: CircuitStreams;
  private readonly messageHandlers: RelayMessageHandler[] = [];
  private readonly closeHandlers: CircuitCloseHandler[] = [];
  private readonly body = new Uint8Array(ONION_BODY_LEN);
  private pending: PendingReply | null = null;
  private error: ChiveError | null = null;
  private built = false;
  private dataLen = 0;
  private peer: PeerEnd | null = null;

  constructor(options: ClientCircuitOptions) {
    this.provider = options.provider;
    this.rng = options.rng;
    this.pool = options.pool;
    this.link = options.link;
    this.circId = options.circId;
    this.now = options.now ?? (() => performance.now());
    this.layers = new ClientLayers(this.provider);
    this.streams = new CircuitStreams(this.provider, this);
    this.pool.register(this.link, this.circId, this);
  }

  /** The relays of the circuit, guard first (the hops built so far while building). */
  get hops(): readonly RelayInfo[] {
    return this.hopList;
  }

  get closed(): boolean {
    return this.error !== null;
  }

  /** Why the circuit closed (CIRCUIT_CLOSED after destroy()), or null while open. */
  get closeError(): ChiveError | null {
    return this.error;
  }

  /** Bytes of data per forward DATA cell to the last hop: maxRelayDataLen(hops). */
  get maxDataLen(): number {
    return this.dataLen;
  }

  /** Streams not yet forgotten (open, opening, or draining their last SENDMEs). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Adds a handler for relay messages the circuit does not consume itself; returns its remover. */
  onMessage(handler: RelayMessageHandler): () => void {
    this.messageHandlers.push(handler);
    return () => {
      const i = this.messageHandlers.indexOf(handler);
      if (i >= 0) this.messageHandlers.splice(i, 1);
    };
  }

  /** Adds a handler run once when the circuit closes (in a microtask if it already has). */
  onClose(handler: CircuitCloseHandler): void {
    const error = this.error;
    if (error !== null) queueMicrotask(() => handler(error));
    else this.closeHandlers.push(handler);
  }

  /**
   * Sends a circuit-level relay message to hop `hop` (0-based). Stream messages go through
   * streams and SENDMEs through flow control: DATA, BEGIN, END, CONNECTED and SENDME are
   * INVALID_ARGUMENT here. CIRCUIT_CLOSED once closed; BAD_HOP for a hop not built.
   */
  sendRelayMessage(hop: number, msg: RelayMessage): void {
    this.checkOpen();
    if (!Number.isInteger(hop) || hop < 0 || hop >= this.hopList.length) {
      throw new ChiveError('BAD_HOP', `hop ${hop} is not one of the circuit's ${this.hopList.length} hops`);
    }
    const k = msg.kind;
    if (k === 'DATA' || k === 'BEGIN' || k === 'END' || k === 'CONNECTED' || k === 'SENDME') {
      throw new ChiveError('INVALID_ARGUMENT', `${k} belongs to streams and flow control: use openStream`);
    }
    this.sendRelay(hop, msg);
  }

  /**
   * Opens a stream to host:port through the last hop: BEGIN, then resolves on CONNECTED.
   * STREAM_REFUSED (END first, its reason named), STREAM_TIMEOUT, the circuit's error if it
   * closes meanwhile, INVALID_ARGUMENT for a bad target, IDS_EXHAUSTED.
   */
  async openStream(host: string, port: number, options: { timeoutMs: number }): Promise<ClientStream> {
    this.checkOpen();
    if (!this.built) throw new ChiveError('INVALID_ARGUMENT', 'the circuit is still being built');
    const timeoutMs = options?.timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new ChiveError('INVALID_ARGUMENT', 'openStream needs timeoutMs > 0');
    return this.streams.open(this.hopList.length - 1, host, port, timeoutMs);
  }

  /**
   * Splices in the peer beyond a rendezvous point as a virtual hop (after RENDEZVOUS2 /
   * RENDEZVOUS1 and the end-to-end handshake): `toPeer` layers what sendToPeer sends,
   * `fromPeer` checks what the peer sends, whose CHAT frames go to `onFrame`.
   */
  attachPeer(toPeer: HopKeys, fromPeer: HopKeys, onFrame: PeerFrameHandler): void {
    this.checkOpen();
    if (!this.built || this.peer !== null) throw new ChiveError('INVALID_ARGUMENT', 'a peer joins a built circuit, once');
    this.layers.addVirtualHop(toPeer);
    this.peer = new PeerEnd(this.provider, fromPeer, onFrame);
  }

  /** Sends one CHAT frame to the peer (at most peerFrameMax bytes); CIRCUIT_CLOSED once closed. */
  sendToPeer(frame: Uint8Array): void {
    this.checkOpen();
    const hop = this.layers.virtualHop;
    if (hop === null) throw new ChiveError('INVALID_ARGUMENT', 'no peer is attached to this circuit');
    this.sendRelay(hop, { kind: 'CHAT', body: frame });
  }

  /** Longest CHAT frame to the peer: maxRelayDataLen(real hops + 1). */
  get peerFrameMax(): number {
    return maxRelayDataLen(this.hopList.length + 1);
  }

  /** Sends DESTROY(reason) and closes; streams still open fail with CIRCUIT_CLOSED. Idempotent. */
  destroy(reason: number = DestroyReason.FINISHED): void {
    this.closeWith(new ChiveError('CIRCUIT_CLOSED', `circuit ${this.circId} was destroyed by this side`), reason);
  }

  // --- builder only --------------------------------------------------------------------

  /** Builder only: sends CREATE2 (ntor) and resolves with CREATED2's handshake data. */
  create(onionskin: Uint8Array): Promise<HandshakeReply> {
    this.checkBuildStep(0);
    return this.awaitReply('CREATED2', () => {
      const cell = encodeCell({ kind: 'CREATE2', circId: this.circId, handshakeType: HandshakeType.NTOR, handshakeData: onionskin }, this.rng);
      this.link.sendRawCell(cell);
    });
  }

  /** Builder only: sends EXTEND2 for `next` to the last hop and resolves with EXTENDED2's data (EXTEND_REFUSED on TRUNCATED). */
  extend(next: RelayInfo, onionskin: Uint8Array): Promise<HandshakeReply> {
    this.checkBuildStep(this.hopList.length);
    if (this.hopList.length === 0) throw new ChiveError('BAD_HOP', 'extend before the first hop was created');
    const msg: RelayMessage = {
      kind: 'EXTEND2', linkSpecifiers: linkSpecifiersFor(next), handshakeType: HandshakeType.NTOR, handshakeData: onionskin,
    };
    return this.awaitReply('EXTENDED2', () => this.sendRelay(this.hopList.length - 1, msg));
  }

  /** Builder only: the hop answered; its keys join the onion layers. */
  addHop(relay: RelayInfo, keys: HopKeys, handshakeMs: number): void {
    this.checkOpen();
    this.layers.addHop(keys);
    this.hopList.push(relay);
    this.hopTimesMs.push(handshakeMs);
    this.dataLen = maxRelayDataLen(this.hopList.length);
  }

  /** Builder only: every hop is in; streams may open. */
  markBuilt(buildMs: number): void {
    this.checkOpen();
    this.buildMs = buildMs;
    this.built = true;
  }

  /** Builder only (and internal): closes with `error`, sending DESTROY(reason) unless reason is null. */
  closeWith(error: ChiveError, destroyReason: number | null): void {
    if (this.error !== null) return;
    this.error = error;
    this.pool.unregister(this.link, this.circId);
    if (destroyReason !== null && !this.link.closed) {
      this.link.sendRawCell(encodeCell({ kind: 'DESTROY', circId: this.circId, reason: destroyReason }, this.rng));
    }
    this.layers.destroy();
    this.peer?.destroy();
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
    this.streams.closeAll(error);
    for (const handler of this.closeHandlers.splice(0)) {
      try {
        handler(error);
      } catch {
        // A close handler has no one to report to; the circuit is closed either way.
      }
    }
  }

  // --- CircuitCellSink (from the link pool) ------------------------------------------------

  onCell(buf: Uint8Array, offset: number): void {
    if (this.error !== null) return;
    try {
      this.handleCell(buf, offset);
    } catch (e) {
      const error = isChiveError(e) ? e : new ChiveError('UNEXPECTED_MESSAGE', `circuit ${this.circId}: ${String(e)}`, { cause: e });
      this.closeWith(error, DestroyReason.PROTOCOL);
    }
  }

  onLinkClosed(reason: LinkCloseReason): void {
    const code = reason.code === 'LOCAL' ? 'CIRCUIT_CLOSED' : 'CIRCUIT_DESTROYED';
    this.closeWith(new ChiveError(code, `the link to the first hop closed (${reason.code}: ${reason.message})`, { cause: reason.cause }), null);
  }

  onLinkDrain(): void {
    this.streams.wakeBlocked();
  }

  // --- StreamTransport (from the stream table) ------------------------------------------------

  canSendData(hop: number): boolean {
    return this.flowOf(hop).package.canSend && !this.link.congested;
  }

  sendData(hop: number, streamId: number, data: Uint8Array): Uint8Array {
    const n = writeRelayMessage(this.body, 0, { kind: 'DATA', streamId, data }, this.dataLen);
    const payload = this.layers.encryptForward(hop, this.body.subarray(0, n), this.rng);
    const tag = this.layers.lastForwardTag;
    this.flowOf(hop).package.onSent(tag);
    this.link.sendCell(this.circId, CellCommand.RELAY, payload);
    return tag;
  }

  sendRelay(hop: number, msg: RelayMessage): void {
    const n = writeRelayMessage(this.body, 0, msg, maxRelayDataLen(hop + 1));
    const payload = this.layers.encryptForward(hop, this.body.subarray(0, n), this.rng);
    this.link.sendCell(this.circId, CellCommand.RELAY, payload);
  }

  flush(): void {
    this.link.flush();
  }

  // --- incoming cells --------------------------------------------------------------------

  private handleCell(buf: Uint8Array, offset: number): void {
    const command = readCellCommand(buf, offset);
    if (command === CellCommand.RELAY) return this.handleRelay(readCellPayload(buf, offset));
    if (command === CellCommand.DESTROY) {
      const reason = readCellPayload(buf, offset)[0]!;
      return this.closeWith(new ChiveError('CIRCUIT_DESTROYED', `circuit ${this.circId} destroyed by the network (${destroyReasonName(reason)})`), null);
    }
    if (command === CellCommand.CREATED2 && this.pending?.kind === 'CREATED2') {
      const cell = decodeCell(buf.subarray(offset, offset + CELL_LEN));
      if (cell.kind === 'CREATED2') return this.settle(new Uint8Array(cell.handshakeData));
    }
    throw new ChiveError('UNEXPECTED_MESSAGE', `circuit ${this.circId}: cell command ${command} not allowed now`);
  }

  private handleRelay(payload: Uint8Array): void {
    if (this.layers.hopCount === 0) throw new ChiveError('UNEXPECTED_MESSAGE', `circuit ${this.circId}: RELAY cell before CREATED2`);
    const peeled = this.layers.decryptBackwardOrBeyond(payload);
    if (peeled.hop === 'beyond') return this.peer!.receive(peeled.payload);
    const { hop, body } = peeled;
    const tag = this.layers.lastBackwardTag;
    const msg = decodeRelayMessageInCell(body);
    switch (msg.kind) {
      case 'DATA': case 'CONNECTED': case 'END':
        return this.handleStreamMessage(hop, msg, tag);
      case 'SENDME':
        if (msg.streamId !== 0) return this.handleStreamMessage(hop, msg, tag);
        this.flowOf(hop).package.onSendme(msg.tag);
        return this.streams.wakeBlocked();
      case 'EXTENDED2':
        if (this.pending?.kind === 'EXTENDED2' && hop === this.hopList.length - 1) return this.settle(new Uint8Array(msg.handshakeData));
        break;
      case 'TRUNCATED':
        if (this.pending?.kind === 'EXTENDED2' && hop === this.hopList.length - 1) {
          return this.fail(new ChiveError('EXTEND_REFUSED', `hop ${hop} refused to extend the circuit (TRUNCATED: ${destroyReasonName(msg.reason)})`));
        }
        return this.closeWith(new ChiveError('CIRCUIT_DESTROYED', `hop ${hop} truncated the circuit (${destroyReasonName(msg.reason)})`), DestroyReason.FINISHED);
      case 'DROP':
        return;
      case 'Unrecognized':
        throw new ChiveError('UNRECOGNIZED_COMMAND', `circuit ${this.circId}: unknown relay command ${msg.command} from hop ${hop}`);
      case 'BEGIN': case 'EXTEND2': case 'TRUNCATE':
        break;
      default:
        if (this.messageHandlers.length === 0) break;
        for (const handler of [...this.messageHandlers]) handler(hop, msg);
        return;
    }
    throw new ChiveError('UNEXPECTED_MESSAGE', `circuit ${this.circId}: relay ${msg.kind} from hop ${hop} not allowed now`);
  }

  private handleStreamMessage(hop: number, msg: StreamMessage, tag: Uint8Array): void {
    const stream = this.streams.streamFor(hop, msg);
    if (msg.kind === 'DATA') {
      const flow = this.flowOf(hop);
      if (flow.deliver.onDelivered(tag)) this.sendCircuitSendme(hop, flow.deliver.takeSendme()!);
    }
    this.streams.dispatch(stream, msg, tag);
  }

  // --- internals -------------------------------------------------------------------------

  private sendCircuitSendme(hop: number, tag: Uint8Array): void {
    this.sendRelay(hop, { kind: 'SENDME', streamId: 0, version: SENDME_VERSION, tag });
  }

  private flowOf(hop: number): HopFlow {
    let flow = this.flows[hop];
    if (flow === undefined) {
      flow = {
        package: new PackageWindow(this.provider, CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT),
        deliver: new DeferredDeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT),
      };
      this.flows[hop] = flow;
    }
    return flow;
  }

  private awaitReply(kind: PendingReply['kind'], send: () => void): Promise<HandshakeReply> {
    return new Promise<HandshakeReply>((resolve, reject) => {
      this.pending = { kind, sentAt: this.now(), resolve, reject };
      send();
      this.link.flush();
      if (this.link.closed) this.onLinkClosed(this.link.closeReason!);
    });
  }

  private settle(reply: Uint8Array): void {
    const pending = this.pending!;
    this.pending = null;
    pending.resolve({ reply, ms: this.now() - pending.sentAt });
  }

  /** Rejects the pending build step with `error` (the builder then destroys the circuit). */
  private fail(error: ChiveError): void {
    const pending = this.pending!;
    this.pending = null;
    pending.reject(error);
  }

  private checkOpen(): void {
    if (this.error !== null) {
      throw new ChiveError('CIRCUIT_CLOSED', `circuit ${this.circId} is closed`, { cause: this.error });
    }
  }

  private checkBuildStep(hops: number): void {
    this.checkOpen();
    if (this.built || this.pending !== null || this.hopList.length !== hops) {
      throw new ChiveError('INVALID_ARGUMENT', 'circuit build steps must run one at a time, in order');
    }
  }
}
