/**
 * The sending side of a rendezvous: reach a peer who is known only by address.
 *
 *   1. fetch the peer's descriptor from its HSDirs (blinded key and time period; the
 *      HSDirs are tried in a random order) — meanwhile build a circuit to a random
 *      rendezvous point and register a fresh cookie there (ESTABLISH_RENDEZVOUS);
 *   2. build a circuit to one of the peer's introduction points and send INTRODUCE1
 *      (sealed to the peer: cookie, rendezvous point, our e2e key, our signed identity);
 *      a refusal (INTRODUCE_ACK ≠ OK) or failure moves on to the next introduction point;
 *   3. wait on the rendezvous circuit for RENDEZVOUS2, finish the end-to-end handshake and
 *      return the circuit with the keys of the virtual hop.
 * Every step is bounded; the caller retries with backoff. Descriptors are cached per peer
 * and period, and dropped when every introduction point of one failed.
 *
 * Not the session on top (session.ts) nor the retry policy (chat-client.ts).
 */
import { toHex } from '../../src/bytes.js';
import { blindedPublicKey, timePeriod } from '../../src/chat/blinding.js';
import { openChatDescriptor, type ChatDescriptorContent } from '../../src/chat/descriptor.js';
import { e2eSenderFinish, e2eSenderStart, type E2eKeys } from '../../src/chat/e2e-handshake.js';
import { hsdirsFor } from '../../src/chat/hsdir-ring.js';
import {
  checkEmptyBody, decodeHsdirFound, decodeIntroduceAck, decodeRendezvous2, encodeEstablishRendezvous, encodeHsdirFetch,
} from '../../src/chat/intro-messages.js';
import { sealIntroduction } from '../../src/chat/introduce.js';
import { ChiveError, isChiveError } from '../../src/errors.js';
import { CHAT_COOKIE_LEN, HsdirFetchStatus, IntroduceAckStatus } from '../../src/wire/constants.js';
import type { ClientCircuit } from '../circuit.js';
import { chatRequest } from './circuit-requests.js';
import { hsdirRelays, runningRelays, shuffled, pickRandom, type ChatContext } from './chat-context.js';

export interface PeerConnection<T> {
  readonly circuit: ClientCircuit;
  /** What `attach` returned. */
  readonly attached: T;
  /** Where the time went, ms. */
  readonly timing: { readonly descriptorMs: number; readonly introduceMs: number; readonly rendezvousMs: number; readonly totalMs: number };
}

type CachedDescriptor = ChatDescriptorContent & { readonly period: number };

export class PeerConnector {
  private readonly descriptors = new Map<string, CachedDescriptor>();

  constructor(private readonly ctx: ChatContext) {}

  /**
   * Reaches the peer with identity `peerIdentity`; PEER_UNREACHABLE / DESCRIPTOR_NOT_FOUND /
   * build errors. `attach` is called synchronously when RENDEZVOUS2 arrives, so the virtual
   * hop is in place before the peer's first cell (which may share RENDEZVOUS2's frame).
   */
  async connect<T>(peerIdentity: Uint8Array, attach: (circuit: ClientCircuit, keys: E2eKeys) => T): Promise<PeerConnection<T>> {
    const ctx = this.ctx;
    const t0 = performance.now();
    const rendezvous = this.prepareRendezvous();
    rendezvous.catch(() => undefined); // awaited below, after the descriptor; never unhandled meanwhile
    let descriptor: CachedDescriptor;
    try {
      descriptor = await this.descriptorOf(peerIdentity);
    } catch (e) {
      void rendezvous.then((r) => r.circuit.destroy(), () => undefined);
      throw e;
    }
    const tDescriptor = performance.now();
    const { circuit, cookie } = await rendezvous;
    const sender = e2eSenderStart(ctx.provider, ctx.rng);
    let tIntroduced = 0;
    const joined = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ChiveError('PEER_UNREACHABLE', `no rendezvous within ${ctx.timings.rendezvousTimeoutMs} ms`)), ctx.timings.rendezvousTimeoutMs);
      const remove = circuit.onMessage((hop, msg) => {
        if (msg.kind !== 'RENDEZVOUS2' || hop !== circuit.hops.length - 1) return;
        remove();
        clearTimeout(timer);
        try {
          const keys = e2eSenderFinish(ctx.provider, sender.state, decodeRendezvous2(msg.body), {
            introEncPub: descriptor.introEncKey,
            senderIdentityPub: ctx.profile.identityPub,
            receiverIdentityPub: peerIdentity,
          });
          resolve(attach(circuit, keys));
        } catch (e) {
          reject(e);
        }
      });
      circuit.onClose((e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    joined.catch(() => undefined);
    try {
      await this.introduce(peerIdentity, descriptor, cookie, circuit.hops.at(-1)!.identity, sender.clientPublic);
      tIntroduced = performance.now();
      const attached = await joined;
      const t1 = performance.now();
      return {
        circuit,
        attached,
        timing: { descriptorMs: tDescriptor - t0, introduceMs: tIntroduced - tDescriptor, rendezvousMs: t1 - tIntroduced, totalMs: t1 - t0 },
      };
    } catch (e) {
      circuit.destroy();
      throw e;
    }
  }

  /** Forgets a cached descriptor (after its introduction points all failed). */
  forget(peerIdentity: Uint8Array): void {
    this.descriptors.delete(toHex(peerIdentity));
  }

  private async prepareRendezvous(): Promise<{ circuit: ClientCircuit; cookie: Uint8Array }> {
    const ctx = this.ctx;
    const rp = pickRandom(ctx, runningRelays(ctx));
    if (!rp) throw new ChiveError('PATH_NOT_ENOUGH_RELAYS', 'no relay can be a rendezvous point');
    const circuit = await ctx.client.buildCircuit({ hops: 3, lastHop: rp.identity });
    const cookie = ctx.rng(CHAT_COOKIE_LEN);
    try {
      checkEmptyBody(await chatRequest(circuit, 'ESTABLISH_RENDEZVOUS', encodeEstablishRendezvous(cookie), 'RENDEZVOUS_ESTABLISHED', ctx.timings.requestTimeoutMs), 'RENDEZVOUS_ESTABLISHED');
    } catch (e) {
      circuit.destroy();
      throw e;
    }
    return { circuit, cookie };
  }

  private async descriptorOf(peerIdentity: Uint8Array): Promise<CachedDescriptor> {
    const ctx = this.ctx;
    const period = timePeriod(ctx.now());
    const key = toHex(peerIdentity);
    const cached = this.descriptors.get(key);
    if (cached && cached.period === period) return cached;
    const blinded = blindedPublicKey(ctx.provider, peerIdentity, period);
    const relays = hsdirRelays(ctx);
    const hsdirs = hsdirsFor(ctx.provider, relays, blinded, period);
    let lastError: unknown = new ChiveError('DESCRIPTOR_NOT_FOUND', 'the network has no HSDir');
    for (const identity of shuffled(ctx, hsdirs)) {
      let circuit: ClientCircuit | undefined;
      try {
        circuit = await ctx.client.buildCircuit({ hops: 3, lastHop: identity });
        const found = decodeHsdirFound(await chatRequest(circuit, 'HSDIR_FETCH', encodeHsdirFetch(blinded, period), 'HSDIR_FOUND', ctx.timings.requestTimeoutMs));
        if (found.status !== HsdirFetchStatus.FOUND || !found.descriptor) {
          lastError = new ChiveError('DESCRIPTOR_NOT_FOUND', 'no descriptor for this address on its HSDirs (is the peer online?)');
          continue;
        }
        const opened = openChatDescriptor(ctx.provider, found.descriptor, { identityPub: peerIdentity, currentPeriod: period });
        const descriptor: CachedDescriptor = { introEncKey: opened.introEncKey, introPoints: opened.introPoints, period };
        this.descriptors.set(key, descriptor);
        return descriptor;
      } catch (e) {
        lastError = e;
        ctx.log('debug', 'descriptor fetch failed at one HSDir', { code: isChiveError(e) ? e.code : 'UNKNOWN' });
      } finally {
        circuit?.destroy();
      }
    }
    throw lastError;
  }

  private async introduce(peerIdentity: Uint8Array, descriptor: CachedDescriptor, cookie: Uint8Array, rendezvousIdentity: Uint8Array, clientPublic: Uint8Array): Promise<void> {
    const ctx = this.ctx;
    let lastError: unknown = new ChiveError('PEER_UNREACHABLE', 'the peer lists no introduction point');
    // Introduction points a build failed to reach lately go last (the descriptor may be older than their death).
    const order = shuffled(ctx, descriptor.introPoints);
    order.sort((a, b) => Number(ctx.client.isRecentlyUnreachable(a.relayIdentity)) - Number(ctx.client.isRecentlyUnreachable(b.relayIdentity)));
    for (const intro of order) {
      let circuit: ClientCircuit | undefined;
      try {
        circuit = await ctx.client.buildCircuit({ hops: 3, lastHop: intro.relayIdentity, avoid: [rendezvousIdentity] });
        const body = sealIntroduction(ctx.provider, ctx.rng, {
          introEncKey: descriptor.introEncKey,
          authKey: intro.authKey,
          receiverIdentityPub: peerIdentity,
          senderIdentitySeed: ctx.profile.identitySeed,
          cookie,
          rendezvousIdentity,
          clientPublic,
          timestamp: ctx.now(),
        });
        const status = decodeIntroduceAck(await chatRequest(circuit, 'INTRODUCE1', body, 'INTRODUCE_ACK', ctx.timings.requestTimeoutMs));
        if (status === IntroduceAckStatus.OK) return;
        lastError = new ChiveError('PEER_UNREACHABLE', `an introduction point refused the introduction (status ${status})`);
      } catch (e) {
        lastError = e;
      } finally {
        circuit?.destroy();
      }
    }
    this.forget(peerIdentity);
    throw isChiveError(lastError) && lastError.code === 'PEER_UNREACHABLE'
      ? lastError
      : new ChiveError('PEER_UNREACHABLE', `no introduction point of the peer answered: ${String((lastError as Error)?.message ?? lastError)}`, { cause: lastError });
  }
}
