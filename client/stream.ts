/**
 * A client stream: one TCP connection made by the exit (the circuit's last hop) on the
 * client's behalf, as a Node `Duplex` of bytes, so it can be piped to a socket
 * (docs/PROTOCOL.md §5b, "Streams" and "Flow control").
 *
 * - Writing: each chunk is cut into DATA cells of at most `maxDataLen` bytes
 *   (maxRelayDataLen(hops)); a cell goes out only while the stream's and the circuit's
 *   package windows are open and the link is not congested. The write callback runs once
 *   every cell of the chunk is handed to the link, so a writer (or a pipe) waits while a
 *   window is 0.
 * - Reading: DATA from the exit is copied out and pushed. Stream-level SENDMEs are owed
 *   every STREAM_WINDOW_INCREMENT cells and sent while the reader keeps up (push() returned
 *   true, or `_read` asks for more), so an unread stream stops the exit after
 *   STREAM_WINDOW_START cells rather than buffering without bound.
 * - Closing: `end()` sends END(DONE) once the writes are out: a half-close; the readable
 *   side ends when the exit's END(DONE) arrives. An END with another reason after CONNECTED
 *   fails the stream with STREAM_CLOSED (the exit has forgotten it: no END goes back).
 *   `destroy()` before both sides ended sends END (DONE, or MISC with an error) and
 *   acknowledges and drops what still arrives until the exit's END. A circuit closed from
 *   outside fails the stream with the circuit's error ('error' event: attach a listener,
 *   or use `pipeline`); one closed by this side destroys it without an error event.
 *
 * The circuit owns the stream table and the cells; this class is the stream's state
 * machine and its byte I/O. Not here: BEGIN / CONNECTED / the open timeout
 * (circuit-streams.ts), SOCKS.
 */
import { Duplex } from 'node:stream';
import { ChiveError } from '../src/errors.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { EndReason, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START } from '../src/wire/constants.js';
import type { StreamTarget } from '../src/wire/relay-message.js';
import { endReasonName } from './reason-names.js';
import { DeferredDeliverWindow, PackageWindow } from './sendme.js';

/** What a stream needs from its circuit. */
export interface StreamHost {
  /** Bytes of data per forward DATA cell to the stream's hop. */
  readonly maxDataLen: number;
  /** The circuit's clock (ms), for the timestamps below. */
  now(): number;
  /** True when a DATA cell for `stream` may go now (circuit window, link, circuit open). */
  canSendData(stream: ClientStream): boolean;
  /** Sends one DATA cell (`data` ≤ maxDataLen), charges the circuit window, returns the cell's onion tag (a view). */
  sendData(stream: ClientStream, data: Uint8Array): Uint8Array;
  /** Sends END(reason) on the stream. */
  sendEnd(stream: ClientStream, reason: number): void;
  /** Sends a stream-level SENDME echoing `tag`. */
  sendStreamSendme(stream: ClientStream, tag: Uint8Array): void;
  /** Remembers that `stream` waits for a window or the link (canSendData was false). */
  blocked(stream: ClientStream): void;
  /** The stream is over on both sides: forget its id. */
  streamGone(stream: ClientStream): void;
  /** The circuit's close error once it has closed, else null. */
  readonly closeError: ChiveError | null;
}

type Phase = 'connecting' | 'open' | 'discarding' | 'gone';

/**
 * Bytes a stream buffers for its reader before it holds back SENDMEs (local policy, not a
 * wire number). The exit can still have a whole stream window in flight on top of it.
 */
export const STREAM_READ_BUFFER_BYTES = 64 * 1024;

interface PendingWrite {
  readonly data: Uint8Array;
  offset: number;
  readonly callback: (error?: Error | null) => void;
}

export class ClientStream extends Duplex {
  readonly streamId: number;
  /** The hop (0-based) the stream is attached to: the circuit's last hop. */
  readonly hop: number;
  readonly target: StreamTarget;
  /** Sending side of the stream window. */
  readonly packageWindow: PackageWindow;
  /** Receiving side of the stream window. */
  readonly deliverWindow = new DeferredDeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  /** Bytes pushed to the reader / handed to the circuit. */
  bytesRead = 0;
  bytesWritten = 0;
  /** Host clock (ms) when BEGIN was sent, CONNECTED arrived, the first DATA byte arrived. */
  readonly openedAt: number;
  connectedAt: number | null = null;
  firstByteAt: number | null = null;

  private phase: Phase = 'connecting';
  private localEnded = false;
  private remoteEnded = false;
  private pendingWrite: PendingWrite | null = null;
  private cellsSent = 0;
  private sendmesReceived = 0;
  private failure: ChiveError | null = null;

  /** Made by ClientCircuit.openStream; not for other callers. */
  constructor(provider: CryptoProvider, private readonly host: StreamHost, streamId: number, hop: number, target: StreamTarget) {
    super({ allowHalfOpen: true, readableHighWaterMark: STREAM_READ_BUFFER_BYTES });
    this.streamId = streamId;
    this.hop = hop;
    this.target = target;
    this.packageWindow = new PackageWindow(provider, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    this.openedAt = host.now();
  }

  /** True while the exit may still send DATA on this stream. */
  get readableOpen(): boolean {
    return !this.remoteEnded && this.phase === 'open';
  }

  /** The error that ended the stream, if it ended in error. */
  get streamError(): ChiveError | null {
    return this.failure;
  }

  // --- Duplex plumbing -----------------------------------------------------------------

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const refusal = this.writeRefusal();
    if (refusal !== null) return callback(refusal);
    if (chunk.length === 0) return callback();
    this.pendingWrite = { data: chunk, offset: 0, callback };
    this.pump();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'buffer' as BufferEncoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const refusal = this.writeRefusal();
    if (refusal !== null) return callback(refusal);
    this.localEnded = true;
    this.host.sendEnd(this, EndReason.DONE);
    this.maybeGone();
    callback();
  }

  override _read(): void {
    this.flushSendmes();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.releasePendingWrite(error ?? new ChiveError('STREAM_CLOSED', `stream ${this.streamId} was destroyed`));
    if (this.phase === 'open' || this.phase === 'connecting') {
      if (this.localEnded && this.remoteEnded) this.maybeGone();
      else if (this.host.closeError !== null) this.goneNow();
      else this.startDiscarding(error ? EndReason.MISC : EndReason.DONE);
    }
    callback(error);
  }

  // --- from the circuit ----------------------------------------------------------------

  /** CONNECTED arrived (the circuit checked the phase). */
  handleConnected(): void {
    this.phase = 'open';
    this.connectedAt = this.host.now();
  }

  /** Which messages the stream accepts now: false means a protocol violation (the circuit closes). */
  accepts(kind: 'CONNECTED' | 'DATA' | 'END' | 'SENDME'): boolean {
    if (this.phase === 'discarding') return kind === 'SENDME' || !this.remoteEnded;
    if (this.phase === 'connecting') return kind === 'CONNECTED' || kind === 'END';
    if (this.phase === 'open') return kind === 'SENDME' || (kind !== 'CONNECTED' && !this.remoteEnded);
    return false;
  }

  get discarding(): boolean {
    return this.phase === 'discarding';
  }

  get connecting(): boolean {
    return this.phase === 'connecting';
  }

  /**
   * DATA from the exit (`data` is a view valid only now; `tag` its onion tag). Throws
   * FLOW_CONTROL_VIOLATION when the exit overran the stream window.
   */
  handleData(data: Uint8Array, tag: Uint8Array): void {
    this.deliverWindow.onDelivered(tag);
    if (this.phase === 'discarding') {
      this.sendOwedSendmes();
      return;
    }
    if (data.length === 0) return;
    if (this.firstByteAt === null) this.firstByteAt = this.host.now();
    this.bytesRead += data.length;
    if (this.push(Buffer.from(data))) this.flushSendmes();
  }

  /** A stream-level SENDME (throws FLOW_CONTROL_VIOLATION when its tag is not the expected one). */
  handleSendme(tag: Uint8Array): void {
    this.packageWindow.onSendme(tag);
    this.sendmesReceived += 1;
    this.pump();
    this.maybeGone();
  }

  /** END from the exit after CONNECTED (before it, the circuit refuses the open instead). */
  handleEnd(reason: number): void {
    this.remoteEnded = true;
    this.deliverWindow.forgetOwed();
    if (this.phase === 'discarding') return this.maybeGone();
    if (reason === EndReason.DONE) {
      this.push(null);
      this.maybeGone();
      return;
    }
    // Any other reason: the exit has dropped the stream; so do we (no END goes back).
    this.localEnded = true;
    this.fail(new ChiveError('STREAM_CLOSED', `the exit closed stream ${this.streamId} with ${endReasonName(reason)}`));
  }

  /** The exit refused the open (END before CONNECTED): the stream is gone; the circuit rejects the open. */
  handleRefused(error: ChiveError): void {
    this.failure = error;
    this.goneNow();
    this.destroy();
  }

  /** The open was given up (timeout): END goes to the exit, and what it still sends is dropped. */
  abandon(error: ChiveError): void {
    this.failure = error;
    this.startDiscarding(EndReason.MISC);
    this.destroy();
  }

  /**
   * The circuit closed. A stream whose both sides had ended is simply forgotten. One still
   * opening (the circuit rejects its open), or any stream when this side closed the
   * circuit (CIRCUIT_CLOSED, like socket.destroy()), is destroyed without an 'error' event;
   * `streamError` says why. Any other stream fails with `error`.
   */
  handleCircuitClosed(error: ChiveError): void {
    if (this.phase === 'gone') return;
    const finished = this.localEnded && this.remoteEnded;
    const quiet = this.phase === 'connecting' || error.code === 'CIRCUIT_CLOSED';
    this.phase = 'gone';
    if (finished) return;
    if (quiet) {
      this.failure = error;
      this.releasePendingWrite(error);
      this.destroy();
    } else {
      this.fail(error);
    }
  }

  /** Sends what the windows and the link allow of the pending write. */
  pump(): void {
    const host = this.host;
    while (this.pendingWrite !== null && this.phase === 'open') {
      if (!this.packageWindow.canSend || !host.canSendData(this)) {
        host.blocked(this);
        return;
      }
      const w = this.pendingWrite;
      const n = Math.min(host.maxDataLen, w.data.length - w.offset);
      this.packageWindow.onSent(host.sendData(this, w.data.subarray(w.offset, w.offset + n)));
      this.cellsSent += 1;
      this.bytesWritten += n;
      w.offset += n;
      if (w.offset === w.data.length) {
        this.pendingWrite = null;
        w.callback();
      }
    }
  }

  // --- internals -----------------------------------------------------------------------

  private writeRefusal(): ChiveError | null {
    if (this.host.closeError !== null) {
      return new ChiveError('CIRCUIT_CLOSED', `stream ${this.streamId}: the circuit is closed`, { cause: this.host.closeError });
    }
    if (this.phase !== 'open' || this.localEnded) {
      return this.failure ?? new ChiveError('STREAM_CLOSED', `stream ${this.streamId} is closed for writing`);
    }
    return null;
  }

  private flushSendmes(): void {
    if (this.phase === 'open' && !this.remoteEnded) this.sendOwedSendmes();
  }

  private sendOwedSendmes(): void {
    if (this.host.closeError !== null) return;
    for (let tag = this.deliverWindow.takeSendme(); tag !== undefined; tag = this.deliverWindow.takeSendme()) {
      this.host.sendStreamSendme(this, tag);
    }
  }

  /**
   * We give up on the stream: END(reason) goes to the exit unless we already sent one, and
   * until the exit's END what it sends is acknowledged (so it can flush and end) and dropped.
   */
  private startDiscarding(reason: number): void {
    if (!this.localEnded) {
      this.localEnded = true;
      this.host.sendEnd(this, reason);
    }
    this.phase = 'discarding';
    if (this.remoteEnded) this.maybeGone();
    else this.sendOwedSendmes();
  }

  /**
   * Forgets the stream once both sides ended and every SENDME the exit owes us for our
   * DATA has come (it sends them before it reads our END; one arriving for a forgotten
   * stream would close the circuit).
   */
  private maybeGone(): void {
    if ((this.phase !== 'open' && this.phase !== 'discarding') || !this.localEnded || !this.remoteEnded) return;
    const owedToUs = Math.floor(this.cellsSent / this.packageWindow.increment) - this.sendmesReceived;
    if (owedToUs <= 0) this.goneNow();
  }

  private goneNow(): void {
    if (this.phase === 'gone') return;
    this.phase = 'gone';
    this.host.streamGone(this);
  }

  private fail(error: ChiveError): void {
    this.failure ??= error;
    if (this.phase !== 'gone') this.goneNow();
    this.releasePendingWrite(error);
    if (!this.destroyed) this.destroy(error);
  }

  private releasePendingWrite(error: Error): void {
    const w = this.pendingWrite;
    if (w === null) return;
    this.pendingWrite = null;
    w.callback(error);
  }
}
