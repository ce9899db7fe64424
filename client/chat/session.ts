/**
 * One end-to-end chat session: a spliced rendezvous circuit with the peer attached as a
 * virtual hop (client/peer-end.ts), carrying CHAT frames both ways. It measures the
 * end-to-end round trip (PING / PONG) and reports its close once.
 *
 * A session knows nothing of messages, acks or contacts (the chat client and
 * src/chat/conversation.ts do): it moves frames and says when it is gone.
 */
import { ChiveError } from '../../src/errors.js';
import type { E2eKeys } from '../../src/chat/e2e-handshake.js';
import type { ClientCircuit } from '../circuit.js';

export type SessionRole = 'sender' | 'receiver';

export class ChatSession {
  private closedWith: ChiveError | null = null;
  private readonly closeHandlers: ((e: ChiveError) => void)[] = [];
  /** Last end-to-end round trip measured, ms. */
  rttMs: number | undefined;
  readonly openedAt = Date.now();

  /**
   * `initiator` is the address of the party that introduced itself (the sender); both ends
   * agree on it, which settles which of two simultaneous sessions survives.
   */
  constructor(
    readonly circuit: ClientCircuit,
    keys: E2eKeys,
    readonly role: SessionRole,
    readonly peer: string,
    readonly initiator: string,
    onFrame: (session: ChatSession, frame: Uint8Array) => void,
  ) {
    const toPeer = role === 'sender' ? keys.senderToReceiver : keys.receiverToSender;
    const fromPeer = role === 'sender' ? keys.receiverToSender : keys.senderToReceiver;
    circuit.attachPeer(toPeer, fromPeer, (frame) => onFrame(this, frame));
    circuit.onClose((e) => this.finish(e));
  }

  get open(): boolean {
    return this.closedWith === null;
  }

  /** Longest frame this session carries. */
  get maxFrame(): number {
    return this.circuit.peerFrameMax;
  }

  send(frame: Uint8Array): void {
    if (this.closedWith) throw new ChiveError('CIRCUIT_CLOSED', 'the chat session is closed', { cause: this.closedWith });
    this.circuit.sendToPeer(frame);
  }

  onClose(handler: (e: ChiveError) => void): void {
    if (this.closedWith) queueMicrotask(() => handler(this.closedWith!));
    else this.closeHandlers.push(handler);
  }

  close(): void {
    this.circuit.destroy();
  }

  private finish(e: ChiveError): void {
    if (this.closedWith) return;
    this.closedWith = e;
    for (const h of this.closeHandlers.splice(0)) h(e);
  }
}
