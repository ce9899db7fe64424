/**
 * The receiving side of chat: keep a few introduction points and a published descriptor,
 * so that anyone who knows our address can introduce themselves.
 *
 *   - each introduction point is a circuit whose last hop got ESTABLISH_INTRO with a fresh
 *     per-intro auth key (distinct relays); a closed one is replaced by a new relay and key;
 *   - the descriptor (intro points, our introduction key; sealed under the address and
 *     signed by the blinded key) goes to every HSDir of the ring for this period, again on
 *     every change, every `republishMs`, and when the period turns;
 *   - each INTRODUCE2 is opened (AEAD, sender signature, time skew, replay) and handed to
 *     `onIntroduction`; a bad one is counted and dropped, the intro circuit stays.
 *
 * Not what to do with an introduction (chat-client.ts decides: request, accept, block).
 */
import { toHex } from '../../src/bytes.js';
import { timePeriod } from '../../src/chat/blinding.js';
import { blindedPublicKey } from '../../src/chat/blinding.js';
import { sealChatDescriptor } from '../../src/chat/descriptor.js';
import { hsdirsFor } from '../../src/chat/hsdir-ring.js';
import { checkEmptyBody, decodeHsdirStored, encodeEstablishIntro } from '../../src/chat/intro-messages.js';
import { IntroReplayCache, openIntroduction, type IntroductionPlain } from '../../src/chat/introduce.js';
import { ChiveError, isChiveError } from '../../src/errors.js';
import { HsdirStoreStatus } from '../../src/wire/constants.js';
import type { ClientCircuit } from '../circuit.js';
import { chatRequest } from './circuit-requests.js';
import { hsdirRelays, runningRelays, pickRandom, type ChatContext } from './chat-context.js';

interface IntroPoint {
  readonly relayIdentity: Uint8Array;
  readonly authSeed: Uint8Array;
  readonly authKey: Uint8Array;
  readonly circuit: ClientCircuit;
}

export class IntroService {
  private readonly points: IntroPoint[] = [];
  private readonly replay = new IntroReplayCache({ maxEntries: 4096 });
  private publishing: Promise<void> | null = null;
  private republishQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private publishedPeriod = -1;
  /** When the descriptor was last accepted by at least one HSDir (ms since the epoch). */
  publishedAt = 0;
  /** How many HSDirs took the last publication, of how many. */
  lastPublish = { stored: 0, of: 0 };

  constructor(
    private readonly ctx: ChatContext,
    private readonly onIntroduction: (intro: IntroductionPlain) => void,
    private readonly onChange: () => void = () => undefined,
  ) {}

  get up(): number {
    return this.points.length;
  }

  /** The introduction circuits (their last hop is the introduction point). */
  circuits(): ClientCircuit[] {
    return this.points.map((p) => p.circuit);
  }

  /** Establishes the introduction points and publishes; resolves once published. */
  async start(): Promise<void> {
    const wanted = this.ctx.timings.introPoints;
    const missing = wanted - this.points.length;
    await Promise.all(Array.from({ length: missing }, () => this.addIntroPoint().catch((e) => this.logFailure('intro point', e))));
    if (this.points.length === 0) throw new ChiveError('PEER_UNREACHABLE', 'no introduction point could be established');
    await this.publish();
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (timePeriod(this.ctx.now()) !== this.publishedPeriod || this.ctx.now() - this.publishedAt >= this.ctx.timings.republishMs) this.publishInBackground();
      if (this.points.length < wanted) void this.replenish();
    }, Math.min(60_000, this.ctx.timings.republishMs));
    this.timer.unref();
  }

  /** Publishes the current descriptor to every HSDir for this period (coalescing concurrent calls). */
  publish(): Promise<void> {
    if (this.publishing) {
      this.republishQueued = true;
      return this.publishing;
    }
    this.publishing = this.publishOnce().finally(() => {
      this.publishing = null;
      if (this.republishQueued && !this.closed) {
        this.republishQueued = false;
        this.publishInBackground();
      }
    });
    return this.publishing;
  }

  /** publish() whose failure is logged (the next tick retries). */
  private publishInBackground(): void {
    this.publish().catch((e) => this.logFailure('descriptor publish', e));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const p of this.points.splice(0)) p.circuit.destroy();
  }

  private async publishOnce(): Promise<void> {
    const ctx = this.ctx;
    const period = timePeriod(ctx.now());
    const descriptor = sealChatDescriptor(ctx.provider, ctx.rng, {
      identitySeed: ctx.profile.identitySeed,
      period,
      revision: ctx.now(),
      content: {
        introEncKey: ctx.profile.introEncPub,
        introPoints: this.points.map((p) => ({ relayIdentity: p.relayIdentity, authKey: p.authKey })),
      },
    });
    const blinded = blindedPublicKey(ctx.provider, ctx.profile.identityPub, period);
    const hsdirs = hsdirsFor(ctx.provider, hsdirRelays(ctx), blinded, period);
    const results = await Promise.all(hsdirs.map((identity) => this.storeAt(identity, descriptor).then(
      (status) => status === HsdirStoreStatus.STORED || status === HsdirStoreStatus.STALE_REVISION,
      (e) => {
        this.logFailure('descriptor upload', e);
        return false;
      },
    )));
    const stored = results.filter(Boolean).length;
    this.lastPublish = { stored, of: hsdirs.length };
    if (stored === 0) throw new ChiveError('PEER_UNREACHABLE', `no HSDir accepted our descriptor (tried ${hsdirs.length})`);
    this.publishedAt = ctx.now();
    this.publishedPeriod = period;
    ctx.log('info', 'descriptor published', { stored, hsdirs: hsdirs.length });
    this.onChange();
  }

  private async storeAt(identity: Uint8Array, descriptor: Uint8Array): Promise<number> {
    const circuit = await this.ctx.client.buildCircuit({ hops: 3, lastHop: identity });
    try {
      return decodeHsdirStored(await chatRequest(circuit, 'HSDIR_STORE', descriptor, 'HSDIR_STORED', this.ctx.timings.requestTimeoutMs));
    } finally {
      circuit.destroy();
    }
  }

  private async addIntroPoint(): Promise<void> {
    const ctx = this.ctx;
    const taken = new Set(this.points.map((p) => toHex(p.relayIdentity)));
    const relay = pickRandom(ctx, runningRelays(ctx).filter((r) => !taken.has(toHex(r.identity))));
    if (!relay) throw new ChiveError('PATH_NOT_ENOUGH_RELAYS', 'no relay left to be an introduction point');
    const circuit = await ctx.client.buildCircuit({ hops: 3, lastHop: relay.identity });
    const authSeed = ctx.rng(32);
    const authKey = ctx.provider.ed25519PublicKey(authSeed);
    try {
      const established = await chatRequest(circuit, 'ESTABLISH_INTRO', encodeEstablishIntro(ctx.provider, authSeed, relay.identity), 'INTRO_ESTABLISHED', ctx.timings.requestTimeoutMs);
      checkEmptyBody(established, 'INTRO_ESTABLISHED');
    } catch (e) {
      circuit.destroy();
      throw e;
    }
    if (this.closed || circuit.closed) {
      circuit.destroy();
      return;
    }
    const point: IntroPoint = { relayIdentity: relay.identity, authSeed, authKey, circuit };
    this.points.push(point);
    circuit.onMessage((hop, msg) => {
      if (msg.kind !== 'INTRODUCE2' || hop !== circuit.hops.length - 1) return;
      this.onIntroduce2(point, msg.body);
    });
    circuit.onClose(() => this.lost(point));
  }

  private onIntroduce2(point: IntroPoint, body: Uint8Array): void {
    let intro: IntroductionPlain;
    try {
      intro = openIntroduction(this.ctx.provider, body, {
        introEncSecret: this.ctx.profile.introEncSecret,
        authKey: point.authKey,
        receiverIdentityPub: this.ctx.profile.identityPub,
        nowMs: this.ctx.now(),
        replay: this.replay,
      });
    } catch (e) {
      this.logFailure('introduction refused', e);
      return;
    }
    this.onIntroduction(intro);
  }

  private lost(point: IntroPoint): void {
    const i = this.points.indexOf(point);
    if (i >= 0) this.points.splice(i, 1);
    point.authSeed.fill(0);
    if (this.closed) return;
    this.ctx.log('info', 'introduction point lost; replacing it');
    this.onChange();
    void this.replenish();
  }

  private replenishing = false;

  private async replenish(): Promise<void> {
    if (this.replenishing || this.closed) return;
    this.replenishing = true;
    try {
      for (let attempt = 0; attempt < 5 && this.points.length < this.ctx.timings.introPoints && !this.closed; attempt++) {
        try {
          await this.addIntroPoint();
        } catch (e) {
          this.logFailure('intro point', e);
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
      if (!this.closed) await this.publish().catch((e) => this.logFailure('descriptor publish', e));
    } finally {
      this.replenishing = false;
    }
  }

  private logFailure(what: string, e: unknown): void {
    this.ctx.log('warn', `${what} failed`, { code: isChiveError(e) ? e.code : 'UNKNOWN' });
  }
}
