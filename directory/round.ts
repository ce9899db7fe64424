/**
 * One consensus period's round at one authority, after it voted: pull the other pinned
 * authorities' votes, compute the consensus from the checked votes, sign it, pull the
 * others' detached signatures, and publish through the authority once a majority signed
 * (docs/PROTOCOL.md §6b, "Vote exchange"). Also `adoptFromPeers`,
 * the fallback of a round that published nothing.
 *
 *   collect  until every pinned authority's vote is in, or plan.collectUntil. A vote is
 *            asked of its authority; when that authority is unreachable, of each other
 *            peer (GET vote/<validAfter>/<authority>), so that authorities that saw a vote
 *            before its author went down still agree. A vote that fails decodeVote,
 *            names another authority or window, or fails checkVote is refused for the
 *            round (an authority signs one vote per period).
 *   compute  only with votes from more than half of the pinned authorities.
 *   sign     until every signature is in, or plan.signaturesUntil; a signature over
 *            another body (digest mismatch) or one that does not verify is refused.
 *   publish  no earlier than plan.publishAt, with signatures from more than half of the
 *            pinned authorities; every later signature republishes the richer document.
 *
 * Not here: when rounds start, the own vote, storage (authority.ts), HTTP (directory-client.ts).
 */
import { toHex } from '../src/bytes.js';
import { isChiveError } from '../src/errors.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  type CheckedDescriptor, type CheckedVote, type Consensus, addSignatures, checkConsensus, checkVote, computeConsensus,
  consensusDigest, decodeConsensus, decodeVote, mergeConsensusSignatures, signConsensus, signaturesNeeded,
} from '../src/dirdoc/index.js';
import {
  encodeDetachedSignature, fetchConsensusBytes, fetchDetachedSignature, fetchVoteBytes,
} from '../src/io/directory-client.js';
import type { NetworkTiming, PinnedAuthority } from '../src/io/network-file.js';
import type { LogFn } from './http-api.js';
import { type RoundPlan, peerRequestTimeoutMs, pollIntervalMs } from './schedule.js';

export interface HeldVote {
  readonly checked: CheckedVote;
  readonly bytes: Uint8Array;
}

/** What a round needs of its authority. */
export interface RoundContext {
  readonly provider: CryptoProvider;
  readonly seed: Uint8Array;
  readonly pinned: readonly Uint8Array[];
  /** The pinned authorities other than this one. */
  readonly peers: readonly PinnedAuthority[];
  readonly timing: NetworkTiming;
  readonly now: () => number;
  readonly log: LogFn;
  readonly signal: AbortSignal;
  sleepUntil(t: number): Promise<void>;
  /** Serves and saves `c` (unless a newer one is out); true if it did. */
  publish(c: Consensus): boolean;
  readonly counters: { votesFetched: number; votesRefused: number };
}

export type RoundOutcome = 'published' | 'too-few-votes' | 'too-few-signatures' | 'closed';

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class PeriodRound {
  /** Checked votes by hex authority identity, ours included. */
  readonly votes = new Map<string, HeldVote>();
  /** Authorities whose vote or signature was refused this round: not asked again. */
  private readonly refused = new Set<string>();
  consensus: Consensus | null = null;
  private digest: Uint8Array | null = null;
  /** Our detached signature (DETACHED_SIGNATURE_LEN bytes) once computed. */
  ownSignature: Uint8Array | null = null;
  published = false;

  constructor(private readonly ctx: RoundContext, readonly plan: RoundPlan, ownIdentityHex: string, ownVote: HeldVote) {
    this.votes.set(ownIdentityHex, ownVote);
  }

  private get closed(): boolean {
    return this.ctx.signal.aborted;
  }

  private requestOptions(): { timeoutMs: number; signal: AbortSignal } {
    return { timeoutMs: peerRequestTimeoutMs(this.ctx.timing), signal: this.ctx.signal };
  }

  private missing(have: (hex: string) => boolean): PinnedAuthority[] {
    return this.ctx.peers.filter((p) => !have(toHex(p.identity)) && !this.refused.has(toHex(p.identity)));
  }

  /** Runs collect → compute → sign → publish; `known` seeds checkVote's descriptor cache. */
  async run(known: Map<string, CheckedDescriptor>): Promise<RoundOutcome> {
    const { ctx, plan } = this;
    await this.collectVotes(known);
    if (this.closed) return 'closed';
    const needed = signaturesNeeded(ctx.pinned.length);
    if (this.votes.size < needed) {
      ctx.log('warn', 'not enough votes for a consensus', { validAfter: plan.validAfter, votes: this.votes.size, needed, pinned: ctx.pinned.length });
      return 'too-few-votes';
    }
    const body = computeConsensus([...this.votes.values()].map((v) => v.checked), ctx.pinned);
    const own = signConsensus(ctx.provider, ctx.seed, body);
    this.digest = consensusDigest(ctx.provider, body);
    this.consensus = addSignatures(ctx.provider, body, [own]);
    this.ownSignature = encodeDetachedSignature({ digest: this.digest, ...own });
    ctx.log('debug', 'consensus computed', { validAfter: plan.validAfter, votes: this.votes.size, relays: body.relays.length });
    await this.gatherSignatures();
    if (this.closed) return 'closed';
    if (this.published) return 'published';
    ctx.log('warn', 'consensus not signed by a majority', { validAfter: plan.validAfter, signatures: this.consensus.signatures.length, needed });
    return 'too-few-signatures';
  }

  private async collectVotes(known: Map<string, CheckedDescriptor>): Promise<void> {
    const poll = pollIntervalMs(this.ctx.timing);
    const have = (hex: string): boolean => this.votes.has(hex);
    while (!this.closed) {
      const missing = this.missing(have);
      if (missing.length === 0 || this.ctx.now() >= this.plan.collectUntil) return;
      await Promise.all(missing.map((a) => this.fetchVote(a, known)));
      if (this.missing(have).length === 0) return;
      await this.ctx.sleepUntil(Math.min(this.ctx.now() + poll, this.plan.collectUntil));
    }
  }

  /** One attempt at `authority`'s vote: from it, or (when it is unreachable) relayed by another peer. */
  private async fetchVote(authority: PinnedAuthority, known: Map<string, CheckedDescriptor>): Promise<void> {
    const { ctx, plan } = this;
    const opts = this.requestOptions();
    let bytes: Uint8Array | null = null;
    try {
      bytes = await fetchVoteBytes(authority.url, plan.validAfter, undefined, opts);
    } catch (e) {
      if (!isChiveError(e, 'DIRECTORY_UNREACHABLE')) return;
      for (const relay of ctx.peers.filter((p) => p !== authority)) {
        bytes = await fetchVoteBytes(relay.url, plan.validAfter, authority.identity, opts).catch(() => null);
        if (bytes) break;
      }
    }
    const hex = toHex(authority.identity);
    if (!bytes || this.closed || this.votes.has(hex)) return;
    try {
      const vote = decodeVote(bytes);
      if (toHex(vote.authority) !== hex) throw new Error(`served a vote by ${toHex(vote.authority).slice(0, 16)}… instead`);
      if (vote.validAfter !== plan.validAfter || vote.freshUntil !== plan.freshUntil || vote.validUntil !== plan.validUntil) {
        throw new Error(
          `voted for the window ${vote.validAfter}/${vote.freshUntil}/${vote.validUntil}, ` +
            `expected ${plan.validAfter}/${plan.freshUntil}/${plan.validUntil} (does its network file have other timing?)`,
        );
      }
      const checked = checkVote(ctx.provider, vote, ctx.pinned, ctx.now(), { knownDescriptors: known });
      for (const e of checked.entries) known.set(toHex(e.descriptor.digest), e.descriptor);
      this.votes.set(hex, { checked, bytes });
      ctx.counters.votesFetched++;
    } catch (e) {
      this.refused.add(hex);
      ctx.counters.votesRefused++;
      ctx.log('warn', 'refused a vote', { from: authority.name, validAfter: plan.validAfter, why: why(e) });
    }
  }

  private async gatherSignatures(): Promise<void> {
    const poll = pollIntervalMs(this.ctx.timing);
    const signed = (hex: string): boolean => this.consensus!.signatures.some((s) => toHex(s.identity) === hex);
    while (!this.closed) {
      await Promise.all(this.missing(signed).map((a) => this.fetchSignature(a)));
      this.maybePublish();
      const allIn = this.missing(signed).length === 0;
      if (allIn && !this.published) {
        await this.ctx.sleepUntil(this.plan.publishAt);
        this.maybePublish();
      }
      if (allIn || this.ctx.now() >= this.plan.signaturesUntil) return;
      await this.ctx.sleepUntil(Math.min(this.ctx.now() + poll, this.plan.signaturesUntil));
    }
  }

  private async fetchSignature(authority: PinnedAuthority): Promise<void> {
    const { ctx } = this;
    const sig = await fetchDetachedSignature(authority.url, this.plan.validAfter, this.requestOptions()).catch(() => null);
    if (!sig || this.closed) return;
    const hex = toHex(authority.identity);
    try {
      if (toHex(sig.identity) !== hex) throw new Error('signature by another key');
      if (!ctx.provider.equal(sig.digest, this.digest!)) {
        throw new Error(`computed another consensus (digest ${toHex(sig.digest).slice(0, 16)}…, ours ${toHex(this.digest!).slice(0, 16)}…)`);
      }
      this.consensus = addSignatures(ctx.provider, this.consensus!, [sig]);
    } catch (e) {
      this.refused.add(hex);
      ctx.log('warn', 'not using a signature', { from: authority.name, validAfter: this.plan.validAfter, why: why(e) });
    }
  }

  private lastPublished: Consensus | null = null;

  private maybePublish(): void {
    const c = this.consensus!;
    if (this.ctx.now() < this.plan.publishAt || c.signatures.length < signaturesNeeded(this.ctx.pinned.length)) return;
    if (c === this.lastPublished || !this.ctx.publish(c)) return;
    this.lastPublished = c;
    if (!this.published) {
      this.published = true;
      this.ctx.log('info', 'consensus published', { validAfter: c.validAfter, relays: c.relays.length, signatures: c.signatures.length });
    }
  }
}

/**
 * A peer's consensus for `validAfter` that passes checkConsensus, with the signatures of
 * every peer serving the same body merged; null if none.
 */
export async function adoptFromPeers(ctx: RoundContext, validAfter: number): Promise<Consensus | null> {
  let adopted: Consensus | null = null;
  for (const peer of ctx.peers) {
    const bytes = await fetchConsensusBytes(peer.url, { timeoutMs: peerRequestTimeoutMs(ctx.timing), signal: ctx.signal }).catch(() => null);
    if (!bytes || ctx.signal.aborted) continue;
    try {
      const c = decodeConsensus(bytes);
      if (c.validAfter !== validAfter) continue;
      checkConsensus(ctx.provider, c, ctx.pinned, ctx.now());
      adopted = adopted ? mergeConsensusSignatures(ctx.provider, adopted, c) : c;
    } catch (e) {
      ctx.log('debug', 'not adopting a peer consensus', { from: peer.name, why: why(e) });
    }
  }
  return adopted;
}
