/**
 * Exit streams: the TCP side of BEGIN / CONNECTED / DATA / END at a relay whose exit policy
 * allows the target.
 *
 * An ExitStream owns one TCP socket and the stream's flow-control windows. Bytes from the
 * socket become backward DATA cells while both the stream's and the circuit's package
 * windows allow (the socket is paused otherwise, and when the previous hop's link is
 * congested); forward DATA is written to the socket; END is a half-close in both directions.
 *
 * Not the policy decision's parsing (src/dirdoc/exit-policy.ts) and not cell handling.
 */
import { connect, isIPv4, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { DeliverWindow, PackageWindow } from '../src/flow/sendme.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { exitPolicyAllows, type ExitPolicy } from '../src/dirdoc/index.js';
import {
  EndReason, MAX_BACKWARD_RELAY_DATA_LEN, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START,
} from '../src/wire/constants.js';
import type { RelayMessage } from '../src/wire/relay-message.js';

/** What the stream needs from its circuit. */
export interface ExitStreamHost {
  /** Originates a backward relay message on the circuit; returns the onion tag it was sealed with. */
  sendBackward(msg: RelayMessage): Uint8Array;
  /** The circuit-level package window (shared by every stream of the circuit). */
  readonly circuitWindow: PackageWindow;
  /** True while the previous hop's link is congested. */
  linkCongested(): boolean;
  /** Called when the stream is gone, to remove it from the circuit. */
  removed(streamId: number): void;
}

export type ExitResolution = { ok: true; address: string } | { ok: false; reason: number };

/** Resolves `host` to an IPv4 address and checks it against `policy`. */
export async function resolveExitTarget(policy: ExitPolicy, host: string, port: number): Promise<ExitResolution> {
  let address = host;
  if (!isIPv4(host)) {
    if (host.startsWith('[')) return { ok: false, reason: EndReason.EXIT_POLICY }; // IPv6 exits: not yet
    try {
      address = (await lookup(host, { family: 4 })).address;
    } catch {
      return { ok: false, reason: EndReason.RESOLVE_FAILED };
    }
  }
  if (!exitPolicyAllows(policy, address, port)) return { ok: false, reason: EndReason.EXIT_POLICY };
  return { ok: true, address };
}

export class ExitStream {
  readonly packageWindow: PackageWindow;
  readonly deliverWindow = new DeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  private socket: Socket | null = null;
  private pending: Uint8Array[] = [];
  private remoteEnded = false; // the client sent END
  private localEnded = false; // we sent END
  private socketEnded = false; // the TCP peer finished sending
  private gone = false;

  constructor(provider: CryptoProvider, readonly streamId: number, private readonly host: ExitStreamHost) {
    this.packageWindow = new PackageWindow(provider, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  }

  /** Connects to address:port; CONNECTED or END(reason) goes back to the client. */
  open(address: string, port: number, timeoutMs: number): void {
    const socket = connect({ host: address, port });
    this.socket = socket;
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      if (!socket.readyState || socket.connecting) this.fail(EndReason.TIMEOUT);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      if (this.gone) return;
      this.host.sendBackward({ kind: 'CONNECTED', streamId: this.streamId });
    });
    socket.on('data', (chunk: Buffer) => this.fromSocket(chunk));
    socket.on('end', () => {
      this.socketEnded = true;
      this.flushPending();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      this.fail(e.code === 'ECONNREFUSED' ? EndReason.CONNECT_REFUSED : EndReason.CONNECT_RESET);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.socketEnded = true;
      this.flushPending();
    });
  }

  private fromSocket(chunk: Buffer): void {
    for (let off = 0; off < chunk.length; off += MAX_BACKWARD_RELAY_DATA_LEN) {
      this.pending.push(chunk.subarray(off, Math.min(chunk.length, off + MAX_BACKWARD_RELAY_DATA_LEN)));
    }
    this.flushPending();
  }

  /** Sends queued socket bytes while the windows and the link allow; pauses the socket otherwise. */
  flushPending(): void {
    if (this.gone) return;
    const circuitWindow = this.host.circuitWindow;
    while (this.pending.length > 0) {
      if (!this.packageWindow.canSend || !circuitWindow.canSend || this.host.linkCongested()) {
        this.socket?.pause();
        return;
      }
      const data = this.pending.shift()!;
      const tag = this.host.sendBackward({ kind: 'DATA', streamId: this.streamId, data });
      this.packageWindow.onSent(tag);
      circuitWindow.onSent(tag);
    }
    if (this.socketEnded) {
      this.sendEnd(EndReason.DONE);
      return;
    }
    this.socket?.resume();
  }

  /** Forward DATA from the client. Returns true when a stream SENDME is due. */
  onData(data: Uint8Array): boolean {
    const due = this.deliverWindow.onDelivered();
    if (this.socket && !this.remoteEnded) this.socket.write(data);
    return due;
  }

  /**
   * END from the client: DONE is a half-close towards the server (we go on sending what the
   * server says until it finishes); any other reason means the stream is gone at once.
   */
  onEnd(reason: number): void {
    this.remoteEnded = true;
    if (reason !== EndReason.DONE) {
      this.localEnded = true; // the client expects no END back
      this.close();
      return;
    }
    this.socket?.end();
    this.maybeGone();
  }

  private sendEnd(reason: number): void {
    if (this.localEnded) return;
    this.localEnded = true;
    this.host.sendBackward({ kind: 'END', streamId: this.streamId, reason });
    this.maybeGone();
  }

  private fail(reason: number): void {
    if (this.gone) return;
    this.pending = [];
    this.sendEnd(reason);
    this.close();
  }

  private maybeGone(): void {
    if (this.remoteEnded && this.localEnded) this.close();
  }

  /** Drops the stream and its socket (circuit destroyed, or both sides ended). */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = [];
    this.socket?.destroy();
    this.host.removed(this.streamId);
  }
}
