/**
 * The streams of one client circuit: the table of stream ids (1..65535, handed out in
 * turn, skipping ids still in use), BEGIN and the wait for CONNECTED with its timeout, the
 * dispatch of stream messages from the exit (checking each is allowed in the stream's
 * state and comes from the stream's hop), and the streams blocked on a window or the link.
 *
 * It implements the StreamHost each ClientStream talks to, on top of the few things it
 * needs from its circuit (`StreamTransport`). Not here: circuit-level flow control and
 * onion layers (circuit.ts), a stream's byte I/O (stream.ts).
 */
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import { SENDME_VERSION } from '../src/wire/constants.js';
import type { ConnectedMessage, DataMessage, EndMessage, RelayMessage, SendmeMessage } from '../src/wire/relay-message.js';
import { endReasonName } from './reason-names.js';
import { ClientStream, type StreamHost } from './stream.js';

/** What the stream table needs from its circuit. */
export interface StreamTransport {
  readonly closeError: ChiveError | null;
  /** Bytes of data per forward DATA cell to the last hop. */
  readonly maxDataLen: number;
  now(): number;
  /** True when the circuit window of `hop` and the link let a DATA cell go now. */
  canSendData(hop: number): boolean;
  /** Sends one DATA cell to `hop`, charges the circuit window, returns the cell's onion tag (a view). */
  sendData(hop: number, streamId: number, data: Uint8Array): Uint8Array;
  /** Sends any other relay message to `hop`. */
  sendRelay(hop: number, msg: RelayMessage): void;
  /** Sends what the link has batched now (BEGIN should not wait for the end of the tick). */
  flush(): void;
}

export type StreamMessage = DataMessage | ConnectedMessage | EndMessage | SendmeMessage;

interface OpenWaiter {
  readonly resolve: () => void;
  readonly reject: (error: ChiveError) => void;
  readonly timer: NodeJS.Timeout;
}

const MAX_STREAM_ID = 0xffff;

export class CircuitStreams implements StreamHost {
  private readonly streams = new Map<number, ClientStream>();
  private readonly opening = new Map<number, OpenWaiter>();
  private readonly blockedStreams = new Set<ClientStream>();
  private nextStreamId = 1;

  constructor(private readonly provider: CryptoProvider, private readonly transport: StreamTransport) {}

  /** Streams not yet forgotten (open, opening, discarding, or awaiting their last SENDMEs). */
  get size(): number {
    return this.streams.size;
  }

  /** BEGIN to `hop`; resolves on CONNECTED (see ClientCircuit.openStream for the errors). */
  open(hop: number, host: string, port: number, timeoutMs: number): Promise<ClientStream> {
    const streamId = this.allocateStreamId();
    const target = { host, port };
    this.transport.sendRelay(hop, { kind: 'BEGIN', streamId, target }); // checks the target before anything is kept
    this.transport.flush();
    const stream = new ClientStream(this.provider, this, streamId, hop, target);
    this.streams.set(streamId, stream);
    return new Promise<ClientStream>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opening.delete(streamId);
        const error = new ChiveError('STREAM_TIMEOUT', `no CONNECTED for stream ${streamId} to ${host}:${port} within ${timeoutMs} ms`);
        stream.abandon(error);
        reject(error);
      }, timeoutMs);
      this.opening.set(streamId, { resolve: () => resolve(stream), reject, timer });
    });
  }

  /**
   * The stream a message from `hop` is for, if the message is allowed in its state; else
   * UNEXPECTED_MESSAGE (the circuit closes: an out-of-state message is never dropped).
   */
  streamFor(hop: number, msg: StreamMessage): ClientStream {
    const stream = this.streams.get(msg.streamId);
    if (stream === undefined || stream.hop !== hop || !stream.accepts(msg.kind)) {
      throw new ChiveError('UNEXPECTED_MESSAGE', `${msg.kind} on stream ${msg.streamId} from hop ${hop} not allowed now`);
    }
    return stream;
  }

  /** Hands a checked message (from streamFor) to its stream; `tag` is the cell's onion tag. */
  dispatch(stream: ClientStream, msg: StreamMessage, tag: Uint8Array): void {
    switch (msg.kind) {
      case 'DATA':
        return stream.handleData(msg.data, tag);
      case 'SENDME':
        return stream.handleSendme(msg.tag);
      case 'CONNECTED':
        if (stream.discarding) return;
        stream.handleConnected();
        return this.settleOpen(stream.streamId, null);
      case 'END':
        if (stream.connecting) {
          const { host, port } = stream.target;
          const error = new ChiveError('STREAM_REFUSED', `the exit refused ${host}:${port}: ${endReasonName(msg.reason)}`, { cause: { endReason: msg.reason } });
          stream.handleRefused(error);
          return this.settleOpen(stream.streamId, error);
        }
        return stream.handleEnd(msg.reason);
    }
  }

  /** A window opened or the link drained: blocked streams try again. */
  wakeBlocked(): void {
    if (this.blockedStreams.size === 0) return;
    const streams = [...this.blockedStreams];
    this.blockedStreams.clear();
    for (const stream of streams) {
      if (this.transport.closeError !== null) return;
      stream.pump();
    }
  }

  /** The circuit closed with `error`: pending opens reject, streams fail (or are forgotten when finished). */
  closeAll(error: ChiveError): void {
    for (const waiter of this.opening.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.opening.clear();
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blockedStreams.clear();
    for (const stream of streams) stream.handleCircuitClosed(error);
  }

  // --- StreamHost ------------------------------------------------------------------------

  get maxDataLen(): number {
    return this.transport.maxDataLen;
  }

  get closeError(): ChiveError | null {
    return this.transport.closeError;
  }

  now(): number {
    return this.transport.now();
  }

  canSendData(stream: ClientStream): boolean {
    return this.transport.closeError === null && this.transport.canSendData(stream.hop);
  }

  sendData(stream: ClientStream, data: Uint8Array): Uint8Array {
    return this.transport.sendData(stream.hop, stream.streamId, data);
  }

  sendEnd(stream: ClientStream, reason: number): void {
    if (this.transport.closeError === null) this.transport.sendRelay(stream.hop, { kind: 'END', streamId: stream.streamId, reason });
  }

  sendStreamSendme(stream: ClientStream, tag: Uint8Array): void {
    if (this.transport.closeError === null) {
      this.transport.sendRelay(stream.hop, { kind: 'SENDME', streamId: stream.streamId, version: SENDME_VERSION, tag });
    }
  }

  blocked(stream: ClientStream): void {
    this.blockedStreams.add(stream);
  }

  streamGone(stream: ClientStream): void {
    if (this.streams.get(stream.streamId) === stream) this.streams.delete(stream.streamId);
    this.blockedStreams.delete(stream);
  }

  // --- internals -------------------------------------------------------------------------

  private settleOpen(streamId: number, error: ChiveError | null): void {
    const waiter = this.opening.get(streamId);
    if (waiter === undefined) return;
    this.opening.delete(streamId);
    clearTimeout(waiter.timer);
    if (error === null) waiter.resolve();
    else waiter.reject(error);
  }

  private allocateStreamId(): number {
    for (let i = 0; i < MAX_STREAM_ID; i++) {
      const id = this.nextStreamId;
      this.nextStreamId = id === MAX_STREAM_ID ? 1 : id + 1;
      if (!this.streams.has(id)) return id;
    }
    throw new ChiveError('IDS_EXHAUSTED', `all ${MAX_STREAM_ID} stream ids of the circuit are in use`);
  }
}
