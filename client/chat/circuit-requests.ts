/**
 * Request and answer over a client circuit for the chat roles: send one chat relay message
 * to the last hop and wait (bounded) for the one that answers it. The answer's body is
 * copied (relay message views do not outlive the handler). A circuit that closes first, or
 * silence past the timeout, rejects with a typed error.
 *
 * Not the meaning of the messages (src/chat/intro-messages.ts) nor any retry policy.
 */
import { ChiveError } from '../../src/errors.js';
import type { ChatRelayCommandName, RelayMessage } from '../../src/wire/relay-message.js';
import type { ClientCircuit } from '../circuit.js';

/** Resolves with the body of the next `kind` message from the circuit's last hop. */
export function awaitChatMessage(circuit: ClientCircuit, kind: ChatRelayCommandName, timeoutMs: number, what: string): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      remove();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new ChiveError('PEER_UNREACHABLE', `${what}: no ${kind} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const remove = circuit.onMessage((hop, msg: RelayMessage) => {
      if (msg.kind !== kind || hop !== circuit.hops.length - 1) return;
      const body = new Uint8Array((msg as { body: Uint8Array }).body);
      finish(() => resolve(body));
    });
    circuit.onClose((e) => finish(() => reject(e)));
  });
}

/** Sends `kind` with `body` to the last hop and waits for `answer`. */
export async function chatRequest(
  circuit: ClientCircuit,
  kind: ChatRelayCommandName,
  body: Uint8Array,
  answer: ChatRelayCommandName,
  timeoutMs: number,
): Promise<Uint8Array> {
  const reply = awaitChatMessage(circuit, answer, timeoutMs, `${kind} to ${circuit.hops.at(-1)?.nickname ?? 'the last hop'}`);
  circuit.sendRelayMessage(circuit.hops.length - 1, { kind, body } as RelayMessage);
  circuit.flush();
  return reply;
}
