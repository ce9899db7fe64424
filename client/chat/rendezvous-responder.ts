/**
 * The receiving side's half of a rendezvous: after accepting an introduction, build a
 * circuit to the rendezvous point it names, answer the end-to-end handshake, attach the
 * peer as the virtual hop and send RENDEZVOUS1 (cookie ‖ reply) — the rendezvous point
 * then splices the circuits and hands the reply to the sender as RENDEZVOUS2. The peer is
 * attached before RENDEZVOUS1 leaves, so its first cell always finds the virtual hop.
 *
 * Not the decision to answer (chat-client.ts) nor the sender's side (connector.ts).
 */
import { e2eReceiverRespond, type E2eKeys } from '../../src/chat/e2e-handshake.js';
import { encodeRendezvous1 } from '../../src/chat/intro-messages.js';
import type { IntroductionPlain } from '../../src/chat/introduce.js';
import type { ClientCircuit } from '../circuit.js';
import type { ChatContext } from './chat-context.js';

export async function answerIntroduction<T>(
  ctx: ChatContext,
  intro: IntroductionPlain,
  attach: (circuit: ClientCircuit, keys: E2eKeys) => T,
): Promise<T> {
  const circuit = await ctx.client.buildCircuit({ hops: 3, lastHop: intro.rendezvousIdentity });
  try {
    const { reply, keys } = e2eReceiverRespond(ctx.provider, ctx.rng, {
      clientPublic: intro.clientPublic,
      introEncSecret: ctx.profile.introEncSecret,
      introEncPub: ctx.profile.introEncPub,
      senderIdentityPub: intro.senderIdentityPub,
      receiverIdentityPub: ctx.profile.identityPub,
    });
    const attached = attach(circuit, keys);
    circuit.sendRelayMessage(circuit.hops.length - 1, { kind: 'RENDEZVOUS1', body: encodeRendezvous1(intro.cookie, reply) });
    circuit.flush();
    return attached;
  } catch (e) {
    circuit.destroy();
    throw e;
  }
}
