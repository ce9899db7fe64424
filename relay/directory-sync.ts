/**
 * A relay's conversation with the directory authorities: it signs and uploads its
 * descriptor to every authority (on start, periodically, and when its onion key rotates),
 * and fetches, checks and adopts the consensus so that EXTEND2 targets and neighbouring
 * relays are checked against it. Each failure is logged with its code and retried on the
 * next tick; nothing here is retried in a tight loop.
 *
 * Not the authorities' server (directory/) and not the client's consensus cache (client/).
 */
import type { CryptoProvider } from '../src/crypto/provider.js';
import { isChiveError } from '../src/errors.js';
import {
  checkConsensus, decodeConsensus, encodeDescriptor, relayFlagNames,
  type CheckedConsensus, type ExitPolicy,
} from '../src/dirdoc/index.js';
import { fetchConsensusBytes, uploadDescriptor } from '../src/io/directory-client.js';
import { pinnedIdentities, type NetworkConfig } from '../src/io/network-file.js';
import { toHex } from '../src/bytes.js';
import type { RelayKeys } from './keys.js';
import { staticDirectoryView, type ListedRelay } from './neighbours.js';
import type { RunningRelay } from './index.js';

export interface DirectorySyncOptions {
  provider: CryptoProvider;
  relay: RunningRelay;
  keys: RelayKeys;
  network: NetworkConfig;
  nickname: string;
  advertisedUrl: string;
  bandwidth: number;
  exitPolicy: ExitPolicy;
  family: Uint8Array[];
  contact: string;
  uploadIntervalMs: number;
  now: () => number;
  log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

export const SOFTWARE_VERSION = 'chive 0.1.0';

export class DirectorySync {
  consensus: CheckedConsensus | null = null;
  /** Flags the current consensus gives this relay (names), empty when not listed. */
  ourFlags: string[] = [];
  ourWeight = 0;
  lastUpload: number | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly o: DirectorySyncOptions) {}

  async start(): Promise<void> {
    await this.uploadAll();
    await this.refreshConsensus();
    // A relay without a consensus (started before the first one) looks every second; the
    // tick does nothing until something is due.
    this.timers.push(setInterval(() => void this.tick(), 1_000));
  }

  private ticking = false;

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      await this.tickOnce();
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    const rotated = this.o.keys.rotateIfDue();
    const t = this.o.now();
    if (rotated || this.lastUpload === null || t - this.lastUpload >= this.o.uploadIntervalMs) await this.uploadAll();
    if ((!this.consensus || t >= this.consensus.freshUntil) && t >= this.nextFetchAt) {
      const before = this.consensus;
      await this.refreshConsensus();
      // Nothing newer yet: wait a tenth of a period (1 s..60 s) before asking again.
      if (this.consensus === before || (this.consensus && this.o.now() >= this.consensus.freshUntil)) {
        const period = this.o.network.timing.votingIntervalMs;
        this.nextFetchAt = this.o.now() + Math.min(60_000, Math.max(1_000, period / 10));
      }
    }
  }

  private nextFetchAt = 0;

  descriptorBytes(): Uint8Array {
    const { keys, now } = this.o;
    const t = now();
    const certLifetime = 30 * 24 * 3600 * 1000;
    return encodeDescriptor(
      // The identity signs, or (identity kept offline) the signing key it certified: relay/keys.ts.
      keys.signDescriptor({
        published: t,
        onionKey: keys.onionKey,
        onionKeyExpires: t + certLifetime,
        linkKey: keys.linkKey,
        linkKeyExpires: t + certLifetime,
        nickname: this.o.nickname,
        address: this.o.advertisedUrl,
        bandwidth: this.o.bandwidth,
        exitPolicy: this.o.exitPolicy,
        family: this.o.family,
        contact: this.o.contact,
        softwareVersion: SOFTWARE_VERSION,
      }),
    );
  }

  /** Uploads the descriptor to every authority; returns how many accepted it. */
  async uploadAll(): Promise<number> {
    const bytes = this.descriptorBytes();
    const results = await Promise.allSettled(this.o.network.authorities.map((a) => uploadDescriptor(a.url, bytes, { timeoutMs: 5_000 })));
    let ok = 0;
    results.forEach((r, i) => {
      const name = this.o.network.authorities[i]!.name;
      if (r.status === 'fulfilled') ok += 1;
      else this.o.log('warn', 'descriptor upload failed', { authority: name, code: isChiveError(r.reason) ? r.reason.code : 'UNKNOWN' });
    });
    // Only a success defers the next upload by a whole interval; after a failure the next
    // tick (a few seconds) tries again.
    if (ok > 0) this.lastUpload = this.o.now();
    this.o.log(ok > 0 ? 'info' : 'warn', 'descriptor uploaded', { accepted: ok, authorities: results.length });
    return ok;
  }

  /** Fetches the consensus from the authorities in random order; adopts the first good one. */
  async refreshConsensus(): Promise<boolean> {
    const { provider, network, now } = this.o;
    const order = [...network.authorities].sort(() => Math.random() - 0.5);
    for (const a of order) {
      try {
        const c = checkConsensus(provider, decodeConsensus(await fetchConsensusBytes(a.url, { timeoutMs: 5_000 })), pinnedIdentities(network), now());
        this.adopt(c);
        return true;
      } catch (e) {
        this.o.log('warn', 'consensus fetch failed', { authority: a.name, code: isChiveError(e) ? e.code : 'UNKNOWN' });
      }
    }
    return false;
  }

  private adopt(c: CheckedConsensus): void {
    this.consensus = c;
    const listed: ListedRelay[] = c.relays.map((r) => ({ identity: r.identity, linkKey: r.linkKey, onionKey: r.onionKey, url: r.address }));
    this.o.relay.setDirectory(staticDirectoryView(listed));
    const me = c.relays.find((r) => toHex(r.identity) === toHex(this.o.keys.identity));
    this.ourFlags = me ? relayFlagNames(me.flags) : [];
    this.ourWeight = me?.weight ?? 0;
    this.o.log('info', 'consensus adopted', { relays: c.relays.length, validAfter: c.validAfter, flags: this.ourFlags.join(',') });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
