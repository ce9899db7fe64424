/**
 * A Link: one open, transport-encrypted cell pipe over one `ws` WebSocket, after its Noise
 * handshake (docs/PROTOCOL.md §1 §1.11–1.14). Relays, clients and directory
 * authorities all move cells through it.
 *
 * Sending: `sendCell` / `sendRawCell` copy the cell into a preallocated batch of
 * MAX_CELLS_PER_FRAME cells. The batch is sealed into ONE link frame (one AEAD tag) and
 * sent as one binary ws message when it is full, or at the end of the current macrotask
 * (setImmediate): cells sent in one tick share frames, a lone cell leaves at once.
 * Receiving: every binary ws message is opened in place (`openFrameInPlace`) and the
 * `onCell` handler is called once per cell with a view of the decrypted frame and the
 * cell's offset — valid ONLY during that call (copy what you keep).
 * Backpressure: `bufferedBytes`, `congested` (above highWaterBytes until it falls below
 * lowWaterBytes, when `onDrain` handlers run), and a hard cap `maxQueuedBytes` that closes
 * the link (OVERLOADED).
 * Hostile input (a text message, a bad frame, ws protocol violations) closes THIS link with
 * a typed reason (link-close.ts); nothing throws out of the driver, and an exception from a
 * user handler closes the link (INTERNAL) and is reported to `onError`.
 *
 * Not here: the handshake and accepting or dialling (link-server.ts, link-connect.ts),
 * what cells mean (circuits, relay roles), and logging.
 */
import type { WebSocket } from 'ws';
import { ChiveError } from '../errors.js';
import { openFrameInPlace, sealFrame } from '../link/frames.js';
import type { NoisePattern, HandshakeRole } from '../noise/handshake.js';
import type { CipherState } from '../noise/symmetric-state.js';
import { CELL_LEN, CELL_PAYLOAD_LEN, MAX_CELLS_PER_FRAME } from '../wire/constants.js';
import { localCloseReason, remoteCloseReason, WS_ABNORMAL_CLOSURE, type LinkCloseReason } from './link-close.js';
import type { ResolvedLinkOptions } from './link-options.js';
import { closeSocket, describe, toBytes, type WsData } from './link-socket.js';

/** Called once per received cell: the cell is `buf[offset .. offset + CELL_LEN)`, valid only during the call. */
export type CellHandler = (buf: Uint8Array, offset: number) => void;

/** What the handshake hands to a new Link (internal to src/io/). */
export interface EstablishedTransport {
  readonly ws: WebSocket;
  readonly pattern: NoisePattern;
  readonly role: HandshakeRole;
  readonly send: CipherState;
  readonly receive: CipherState;
  readonly remoteStatic: Uint8Array | null;
  readonly handshakeHash: Uint8Array;
}

export class Link {
  /** The Noise pattern this link was made with (the initiator's choice of subprotocol). */
  readonly pattern: NoisePattern;
  /** Whether this side dialled (initiator) or accepted (responder). */
  readonly role: HandshakeRole;
  /** The peer's static link key: the relay's for an initiator, the initiator's for an XK responder, null for an NK responder. */
  readonly remoteStatic: Uint8Array | null;
  /** The final Noise handshake hash h, equal on both sides (channel binding). */
  readonly handshakeHash: Uint8Array;

  private readonly ws: WebSocket;
  private readonly sendCipher: CipherState;
  private readonly receiveCipher: CipherState;
  private readonly batch = new Uint8Array(MAX_CELLS_PER_FRAME * CELL_LEN);
  private batchCells = 0;
  private flushScheduled = false;

  private cellHandler: CellHandler | null = null;
  private pendingIn: Uint8Array[] = [];
  private pendingInBytes = 0;
  private readonly closeHandlers: ((reason: LinkCloseReason) => void)[] = [];
  private readonly drainHandlers: (() => void)[] = [];
  private reason: LinkCloseReason | null = null;
  private isCongested = false;

  private readonly opts: ResolvedLinkOptions;
  private readonly onClosedInternal: ((link: Link) => void) | undefined;
  private lastActivity = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private awaitingPong = false;

  private counts = { cellsIn: 0, cellsOut: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };

  /** Made by startLinkServer / connectLink once the handshake is done; not for other callers. */
  constructor(transport: EstablishedTransport, options: ResolvedLinkOptions, onClosed?: (link: Link) => void) {
    this.ws = transport.ws;
    this.pattern = transport.pattern;
    this.role = transport.role;
    this.sendCipher = transport.send;
    this.receiveCipher = transport.receive;
    this.remoteStatic = transport.remoteStatic;
    this.handshakeHash = transport.handshakeHash;
    this.opts = options;
    this.onClosedInternal = onClosed;

    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', this.handleMessage);
    this.ws.on('close', this.handleWsClose);
    this.ws.on('error', this.handleWsError);
    this.ws.on('pong', this.handlePong);

    if (options.idleTimeoutMs > 0) {
      this.lastActivity = options.now();
      this.idleTimer = setTimeout(this.checkIdle, options.idleTimeoutMs);
    }
    if (options.keepaliveMs > 0) this.keepaliveTimer = setInterval(this.keepalive, options.keepaliveMs);
  }

  // --- sending ----------------------------------------------------------------------

  /**
   * Queues one cell: `circId` (u32), `command` (u8), `payload` of exactly CELL_PAYLOAD_LEN
   * bytes (copied). Returns false, dropping the cell, when the link is closed (or closes
   * now because its queue overflowed). Bad arguments throw INVALID_ARGUMENT.
   */
  sendCell(circId: number, command: number, payload: Uint8Array): boolean {
    if (this.reason !== null) return false;
    if (payload.length !== CELL_PAYLOAD_LEN || circId >>> 0 !== circId || (command & 0xff) !== command) {
      throw new ChiveError('INVALID_ARGUMENT', `sendCell needs a u32 circuit id, a u8 command and ${CELL_PAYLOAD_LEN} payload bytes`);
    }
    const b = this.batch;
    const o = this.batchCells * CELL_LEN;
    b[o] = circId >>> 24;
    b[o + 1] = circId >>> 16;
    b[o + 2] = circId >>> 8;
    b[o + 3] = circId;
    b[o + 4] = command;
    b.set(payload, o + 5);
    return this.appended();
  }

  /** Queues one whole encoded cell of CELL_LEN bytes (copied). Returns as sendCell. */
  sendRawCell(cell: Uint8Array): boolean {
    if (this.reason !== null) return false;
    if (cell.length !== CELL_LEN) throw new ChiveError('INVALID_ARGUMENT', `a raw cell is ${CELL_LEN} bytes, not ${cell.length}`);
    this.batch.set(cell, this.batchCells * CELL_LEN);
    return this.appended();
  }

  /** Seals and sends whatever is batched now, without waiting for the end of the tick. */
  flush(): void {
    const n = this.batchCells;
    if (n === 0 || this.reason !== null) return;
    this.batchCells = 0;
    const bodyLen = n * CELL_LEN;
    let frame: Uint8Array;
    try {
      frame = sealFrame(this.sendCipher, this.batch.subarray(0, bodyLen));
      this.ws.send(frame, this.afterWrite);
    } catch (e) {
      this.shutdown(localCloseReason('INTERNAL', `sealing or sending a frame failed: ${describe(e)}`, e));
      return;
    }
    const c = this.counts;
    c.framesOut += 1;
    c.cellsOut += n;
    c.bytesOut += frame.length;
    if (this.opts.idleTimeoutMs > 0) this.lastActivity = this.opts.now();
    const queued = this.ws.bufferedAmount;
    if (queued > this.opts.maxQueuedBytes) {
      this.shutdown(localCloseReason('OVERLOADED', `${queued} bytes queued to a peer that does not read (cap ${this.opts.maxQueuedBytes})`));
    } else if (!this.isCongested && queued > this.opts.highWaterBytes) {
      this.isCongested = true;
    }
  }

  /** Bytes waiting to go out: the unsent batch plus what ws and the socket still hold. */
  get bufferedBytes(): number {
    return this.batchCells * CELL_LEN + this.ws.bufferedAmount;
  }

  /** True from when bufferedBytes passes highWaterBytes until it falls below lowWaterBytes. */
  get congested(): boolean {
    return this.isCongested;
  }

  // --- receiving and events ---------------------------------------------------------

  /**
   * Sets THE cell handler (replacing any earlier one). Cells that arrived before any
   * handler was set were kept (up to maxQueuedBytes) and are delivered now, in order,
   * before this call returns.
   */
  onCell(handler: CellHandler): void {
    this.cellHandler = handler;
    while (this.pendingIn.length > 0 && this.reason === null) {
      const cells = this.pendingIn.shift()!;
      this.pendingInBytes -= cells.length;
      this.deliver(cells);
    }
  }

  /** Adds a handler run once, in a microtask after the link closed (at once, in a microtask, if it already has). */
  onClose(handler: (reason: LinkCloseReason) => void): void {
    if (this.reason !== null) {
      const reason = this.reason;
      queueMicrotask(() => this.runHandler('onClose', () => handler(reason), false));
    } else {
      this.closeHandlers.push(handler);
    }
  }

  /** Adds a handler run each time a congested link falls below lowWaterBytes. */
  onDrain(handler: () => void): void {
    this.drainHandlers.push(handler);
  }

  /** Flushes the batch, sends a close frame (1000) and closes. Idempotent. */
  close(message = 'closed by this side'): void {
    this.closeGracefully('LOCAL', message);
  }

  /** Flushes and closes with an orderly local reason (LOCAL, SHUTDOWN, IDLE_TIMEOUT). For src/io/ only. */
  closeGracefully(code: 'LOCAL' | 'SHUTDOWN' | 'IDLE_TIMEOUT', message: string): void {
    if (this.reason !== null) return;
    this.flush();
    this.shutdown(localCloseReason(code, message));
  }

  get closed(): boolean {
    return this.reason !== null;
  }

  /** Why the link closed, or null while open. */
  get closeReason(): LinkCloseReason | null {
    return this.reason;
  }

  get cellsIn(): number { return this.counts.cellsIn; }
  get cellsOut(): number { return this.counts.cellsOut; }
  get framesIn(): number { return this.counts.framesIn; }
  get framesOut(): number { return this.counts.framesOut; }
  get bytesIn(): number { return this.counts.bytesIn; }
  get bytesOut(): number { return this.counts.bytesOut; }

  // --- internals ----------------------------------------------------------------------

  private appended(): boolean {
    if (++this.batchCells === MAX_CELLS_PER_FRAME) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
    return this.reason === null;
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private readonly afterWrite = (): void => {
    if (!this.isCongested || this.reason !== null) return;
    if (this.bufferedBytes <= this.opts.lowWaterBytes) {
      this.isCongested = false;
      for (const handler of this.drainHandlers) {
        if (!this.runHandler('onDrain', handler, true)) return;
      }
    }
  };

  private readonly handleMessage = (data: WsData, isBinary: boolean): void => {
    if (this.reason !== null) return;
    if (!isBinary) {
      this.shutdown(localCloseReason('TEXT_MESSAGE', 'a text WebSocket message on a link'));
      return;
    }
    const frame = toBytes(data);
    let cells: Uint8Array;
    try {
      cells = openFrameInPlace(this.receiveCipher, frame);
    } catch (e) {
      this.shutdown(localCloseReason('BAD_FRAME', `refused a link frame of ${frame.length} bytes: ${describe(e)}`, e));
      return;
    }
    const c = this.counts;
    c.framesIn += 1;
    c.bytesIn += frame.length;
    c.cellsIn += cells.length / CELL_LEN;
    this.awaitingPong = false;
    if (this.opts.idleTimeoutMs > 0) this.lastActivity = this.opts.now();
    if (this.cellHandler === null || this.pendingIn.length > 0) {
      this.pendingIn.push(cells.slice());
      this.pendingInBytes += cells.length;
      if (this.pendingInBytes > this.opts.maxQueuedBytes) {
        this.shutdown(localCloseReason('OVERLOADED', `${this.pendingInBytes} bytes received before any onCell handler was set`));
      }
      return;
    }
    this.deliver(cells);
  };

  private deliver(frameCells: Uint8Array): void {
    // ws hands over Buffers; handlers slice cells out of this view on the hot path, and a
    // plain Uint8Array's subarray is much cheaper than a Buffer's (no FastBuffer wrapper).
    const cells = new Uint8Array(frameCells.buffer, frameCells.byteOffset, frameCells.length);
    try {
      for (let off = 0; off < cells.length; off += CELL_LEN) {
        this.cellHandler!(cells, off);
        if (this.reason !== null) return;
      }
    } catch (e) {
      this.handlerFailed('onCell', e);
    }
  }

  /** Runs a user handler; if it throws: report, close INTERNAL when `closeOnThrow`. False when it threw. */
  private runHandler(name: string, fn: () => void, closeOnThrow: boolean): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (closeOnThrow) this.handlerFailed(name, e);
      else this.report(new ChiveError('LINK_HANDLER_FAILED', `link ${name} handler threw: ${describe(e)}`, { cause: e }));
      return false;
    }
  }

  /** A handler threw: close the link INTERNAL and report it. For src/io/ (onLink) too. */
  handlerFailed(name: string, e: unknown): void {
    const error = new ChiveError('LINK_HANDLER_FAILED', `link ${name} handler threw: ${describe(e)}`, { cause: e });
    this.shutdown(localCloseReason('INTERNAL', error.message, error));
    this.report(error);
  }

  private report(error: ChiveError): void {
    if (this.opts.onError === undefined) return;
    try {
      this.opts.onError(error);
    } catch {
      // An onError that throws has nowhere left to report to.
    }
  }

  private readonly handleWsClose = (code: number, reasonText: Buffer): void => {
    if (this.reason === null) this.shutdown(remoteCloseReason(code, reasonText.toString('utf8').slice(0, 123)));
  };

  private readonly handleWsError = (err: Error & { code?: string }): void => {
    if (this.reason !== null) return;
    const code = err.code ?? '';
    let reason: LinkCloseReason;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') reason = localCloseReason('FRAME_TOO_LARGE', err.message, err);
    else if (code.startsWith('WS_ERR_')) reason = localCloseReason('WS_PROTOCOL', err.message, err);
    else reason = remoteCloseReason(WS_ABNORMAL_CLOSURE, err.message, err);
    this.shutdown(reason);
  };

  private readonly handlePong = (): void => {
    this.awaitingPong = false;
  };

  private readonly keepalive = (): void => {
    if (this.reason !== null) return;
    if (this.awaitingPong) {
      this.shutdown(localCloseReason('KEEPALIVE_TIMEOUT', 'the peer did not answer a keepalive ping'));
      return;
    }
    this.awaitingPong = true;
    try {
      this.ws.ping();
    } catch (e) {
      this.shutdown(remoteCloseReason(WS_ABNORMAL_CLOSURE, describe(e), e));
    }
  };

  private readonly checkIdle = (): void => {
    this.idleTimer = null;
    if (this.reason !== null) return;
    const idleFor = this.opts.now() - this.lastActivity;
    if (idleFor >= this.opts.idleTimeoutMs) {
      this.closeGracefully('IDLE_TIMEOUT', `no cell for ${idleFor} ms`);
    } else {
      this.idleTimer = setTimeout(this.checkIdle, this.opts.idleTimeoutMs - idleFor);
    }
  };

  /** The one way a link ends: record why, stop timers, zero keys, close the socket, notify. */
  private shutdown(reason: LinkCloseReason): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.batchCells = 0;
    this.pendingIn = [];
    this.pendingInBytes = 0;
    this.isCongested = false;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.idleTimer = this.keepaliveTimer = null;
    this.sendCipher.close();
    this.receiveCipher.close();
    closeSocket(this.ws, reason, this.opts.closeGraceMs);
    this.onClosedInternal?.(this);
    const handlers = this.closeHandlers.splice(0);
    if (handlers.length > 0) {
      queueMicrotask(() => {
        for (const handler of handlers) this.runHandler('onClose', () => handler(reason), false);
      });
    }
  }
}
