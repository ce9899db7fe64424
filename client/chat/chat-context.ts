/**
 * What the chat pieces share: the network client, the crypto, the profile, the clock, the
 * timeouts, and a quiet log. One object passed around instead of eight arguments.
 *
 * Not behaviour: just the shared dependencies and the chat timing defaults.
 */
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { RelayFlag } from '../../src/wire/constants.js';
import type { ConsensusRelay } from '../../src/dirdoc/index.js';
import { ChiveError } from '../../src/errors.js';
import type { ChiveClient } from '../client.js';
import type { ChatProfile } from './profile.js';

export type ChatLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface ChatTimings {
  /** Waiting for one answer from a relay (INTRO_ESTABLISHED, HSDIR_FOUND, INTRODUCE_ACK, …). */
  readonly requestTimeoutMs: number;
  /** Waiting at the rendezvous point for the peer's RENDEZVOUS2 after a good INTRODUCE_ACK. */
  readonly rendezvousTimeoutMs: number;
  /** How often the descriptor is published again even when nothing changed. */
  readonly republishMs: number;
  /** Introduction points kept. */
  readonly introPoints: number;
}

export const DEFAULT_CHAT_TIMINGS: ChatTimings = {
  requestTimeoutMs: 10_000,
  rendezvousTimeoutMs: 15_000,
  republishMs: 30 * 60_000,
  introPoints: 3,
};

export interface ChatContext {
  readonly client: ChiveClient;
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly profile: ChatProfile;
  readonly now: () => number;
  readonly timings: ChatTimings;
  readonly log: ChatLog;
}

/** Running relays of the current consensus that no build failed to reach lately (CONSENSUS_EXPIRED without one). */
export function runningRelays(ctx: ChatContext): ConsensusRelay[] {
  const consensus = ctx.client.consensus.current();
  if (!consensus) throw new ChiveError('CONSENSUS_EXPIRED', 'the client holds no valid consensus');
  return consensus.relays.filter((r) => (r.flags & RelayFlag.RUNNING) !== 0 && !ctx.client.isRecentlyUnreachable(r.identity));
}

/** The relays that may hold descriptors (Running and HSDir). */
export function hsdirRelays(ctx: ChatContext): ConsensusRelay[] {
  return runningRelays(ctx).filter((r) => (r.flags & RelayFlag.HSDIR) !== 0);
}

/** Picks one of `items` uniformly with the context's rng. */
export function pickRandom<T>(ctx: ChatContext, items: readonly T[]): T | undefined {
  if (items.length === 0) return undefined;
  const r = ctx.rng(4);
  const n = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
  return items[n % items.length];
}

/** `items` in a random order. */
export function shuffled<T>(ctx: ChatContext, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const r = ctx.rng(4);
    const j = (((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
