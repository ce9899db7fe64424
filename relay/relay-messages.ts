/**
 * What a relay does with a relay message addressed to it (a forward cell it recognised):
 * EXTEND2, TRUNCATE, DROP at any hop; BEGIN / DATA / END / SENDME at an exit; the chat
 * roles' messages (relay/chat-messages.ts) at the last hop. Anything else
 * — an `Unrecognized` command, a message only a client may receive, a chat command only
 * clients receive, a stream message at a relay that is not an exit — throws, and the caller
 * destroys the circuit: a silently dropped cell would be a side channel.
 *
 * Not the cell engine (relay/relay-node.ts) and not the TCP side of exits (relay/exit.ts).
 */
import { ChiveError } from '../src/errors.js';
import { encodeCell } from '../src/wire/cell.js';
import { DestroyReason, EndReason } from '../src/wire/constants.js';
import { extendTargetOf } from '../src/wire/link-specifiers.js';
import { decodeRelayMessageInCell, type Extend2Message, type RelayMessage } from '../src/wire/relay-message.js';
import type { RelayCircuit } from './circuit.js';
import { ExitStream, resolveExitTarget } from './exit.js';
import type { RelayNode } from './relay-node.js';

export function handleRecognized(node: RelayNode, circ: RelayCircuit, body: Uint8Array): void {
  const msg = decodeRelayMessageInCell(body);
  switch (msg.kind) {
    case 'EXTEND2':
      return handleExtend(node, circ, msg);
    case 'TRUNCATE':
      if (circ.next) {
        const next = circ.next;
        node.links.get(next.link)?.circuits.delete(next.circId);
        node.sendDestroy(next.link, next.circId, DestroyReason.REQUESTED);
        circ.next = null;
        circ.extending = false;
      }
      node.sendBackward(circ, { kind: 'TRUNCATED', reason: DestroyReason.REQUESTED });
      return;
    case 'DROP':
      return;
    case 'ESTABLISH_INTRO': case 'INTRODUCE1': case 'ESTABLISH_RENDEZVOUS': case 'RENDEZVOUS1':
    case 'HSDIR_STORE': case 'HSDIR_FETCH':
      return node.chat.handle(circ, msg);
    case 'BEGIN':
      return handleBegin(node, circ, msg.streamId, msg.target.host, msg.target.port);
    case 'DATA': {
      const tag = circ.layer.lastForwardTag.slice();
      const circuitSendme = circ.deliverWindow.onDelivered();
      const stream = circ.streams.get(msg.streamId);
      // DATA for a stream that is gone races our END: it still counts for the circuit window.
      const streamSendme = stream ? stream.onData(msg.data) : false;
      if (!stream) node.counters.refuse('unknown_stream');
      if (circuitSendme) node.sendBackward(circ, { kind: 'SENDME', streamId: 0, version: 1, tag });
      if (streamSendme) node.sendBackward(circ, { kind: 'SENDME', streamId: msg.streamId, version: 1, tag });
      return;
    }
    case 'END':
      circ.streams.get(msg.streamId)?.onEnd(msg.reason);
      return;
    case 'SENDME':
      if (msg.streamId === 0) {
        circ.packageWindow.onSendme(msg.tag);
        for (const s of circ.streams.values()) s.flushPending();
      } else {
        const stream = circ.streams.get(msg.streamId);
        if (!stream) return; // a SENDME racing the stream's END
        stream.packageWindow.onSendme(msg.tag);
        stream.flushPending();
      }
      return;
    default:
      throw new ChiveError('UNEXPECTED_MESSAGE', `relay message ${msg.kind} is not accepted at this hop`);
  }
}

function handleExtend(node: RelayNode, circ: RelayCircuit, msg: Extend2Message): void {
  if (circ.next || circ.extending) throw new ChiveError('UNEXPECTED_MESSAGE', 'EXTEND2 on a circuit that is already extended');
  if (circ.spliced || circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'EXTEND2 on a circuit with a chat role (introduction or rendezvous)');
  const truncated = (reason: number) => {
    node.counters.refuse('extend_refused');
    node.sendBackward(circ, { kind: 'TRUNCATED', reason });
  };
  const target = extendTargetOf(msg.linkSpecifiers);
  if (node.provider.equal(target.identity, node.keys.identity)) return truncated(DestroyReason.PROTOCOL);
  const prevState = node.links.get(circ.prev.link);
  if (prevState && node.neighbours.isLinkTo(prevState, target.identity)) return truncated(DestroyReason.PROTOCOL);
  try {
    node.neighbours.checkTarget(target);
  } catch {
    return truncated(DestroyReason.OR_IDENTITY);
  }
  circ.extending = true;
  node.neighbours.get(target).then(
    (state) => {
      if (circ.closed) return;
      if (state.link === circ.prev.link) {
        circ.extending = false;
        return truncated(DestroyReason.PROTOCOL);
      }
      const circId = state.allocateCircId(node.rng);
      circ.next = { link: state.link, circId };
      state.circuits.set(circId, circ);
      state.link.sendRawCell(
        encodeCell({ kind: 'CREATE2', circId, handshakeType: msg.handshakeType, handshakeData: msg.handshakeData }, node.rng),
      );
    },
    () => {
      if (circ.closed) return;
      circ.extending = false;
      truncated(DestroyReason.CONNECT_FAILED);
    },
  );
}

function handleBegin(node: RelayNode, circ: RelayCircuit, streamId: number, host: string, port: number): void {
  if (circ.next) throw new ChiveError('UNEXPECTED_MESSAGE', 'BEGIN at a hop that is not the last');
  if (circ.spliced || circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'BEGIN on a circuit with a chat role (introduction or rendezvous)');
  if (circ.streams.has(streamId)) throw new ChiveError('UNEXPECTED_MESSAGE', 'BEGIN on a stream id in use');
  const end = (reason: number) => node.sendBackward(circ, { kind: 'END', streamId, reason });
  if (!node.exitPolicy) {
    node.counters.refuse('not_exit');
    return void end(EndReason.EXIT_POLICY);
  }
  const stream = new ExitStream(node.provider, streamId, {
    sendBackward: (m: RelayMessage) => node.sendBackward(circ, m),
    circuitWindow: circ.packageWindow,
    linkCongested: () => circ.prev.link.congested,
    removed: (id) => circ.streams.delete(id),
  });
  circ.streams.set(streamId, stream);
  resolveExitTarget(node.exitPolicy, host, port).then(
    (res) => {
      if (circ.closed || !circ.streams.has(streamId)) return;
      if (!res.ok) {
        if (res.reason === EndReason.EXIT_POLICY) node.counters.refuse('exit_policy');
        circ.streams.delete(streamId);
        end(res.reason);
        return;
      }
      stream.open(res.address, port, node.limits.exitConnectTimeoutMs);
    },
    (e) => node.internalError(e),
  );
}
