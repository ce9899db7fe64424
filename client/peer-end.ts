/**
 * The far end of a spliced rendezvous circuit, as one client circuit sees it: the peer is a
 * virtual hop beyond the rendezvous point (docs/PROTOCOL.md, rendezvous). Cells to the peer
 * are built by the circuit's onion layers (the virtual hop's forward keys); cells from the
 * peer arrive with every real hop's relay layer removed and still under the peer's own
 * forward layer, which this end verifies and peels exactly as a relay would
 * (src/onion/relay-layer.ts). A recognised cell must carry one CHAT relay message; anything
 * else is a protocol error and the caller closes the circuit.
 *
 * Not the chat frames inside (src/chat/chat-frame.ts) and not the session logic.
 */
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import type { HopKeys } from '../src/onion/hop-keys.js';
import { RelayLayer } from '../src/onion/relay-layer.js';
import { decodeRelayMessageInCell } from '../src/wire/relay-message.js';

/** Receives the body of each CHAT message from the peer (a view valid during the call). */
export type PeerFrameHandler = (frame: Uint8Array) => void;

export class PeerEnd {
  private readonly layer: RelayLayer;

  constructor(provider: CryptoProvider, fromPeer: HopKeys, private readonly onFrame: PeerFrameHandler) {
    this.layer = new RelayLayer(provider, fromPeer);
  }

  /** Verifies and peels the peer's layer of `payload` (P bytes) and hands on its CHAT frame. */
  receive(payload: Uint8Array): void {
    const result = this.layer.processForward(payload);
    if (!result.recognized) throw new ChiveError('NOT_RECOGNIZED', 'a cell from the peer was not for us');
    const msg = decodeRelayMessageInCell(result.body);
    if (msg.kind !== 'CHAT') throw new ChiveError('UNEXPECTED_MESSAGE', `the peer sent ${msg.kind}, not CHAT`);
    this.onFrame(msg.body);
  }

  /** Cells received from the peer so far. */
  get received(): number {
    return this.layer.forwardCount;
  }

  destroy(): void {
    this.layer.destroy();
  }
}
