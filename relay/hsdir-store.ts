/**
 * What a relay stores as an HSDir: chat descriptors by (blinded key, time period), each
 * checked before it is kept (size cap, version, signature under its blinded key, period
 * within one of ours: checkChatDescriptorOuter), replaced only by a higher revision, kept
 * for a lifetime, with a cap on the whole store and a quota per source (the link the
 * storing circuit came in on — an anonymous circuit has no other source to count).
 *
 * An HSDir cannot read a descriptor (it does not know the address): it stores opaque,
 * signed bytes. Not here: the relay messages around it (relay/chat-messages.ts).
 */
import { toHex } from '../src/bytes.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { checkChatDescriptorOuter } from '../src/chat/descriptor.js';
import { HsdirStoreStatus } from '../src/wire/constants.js';

interface StoredDescriptor {
  readonly bytes: Uint8Array;
  readonly revision: number;
  readonly storedAt: number;
  readonly source: string;
}

export interface HsdirStoreOptions {
  readonly maxDescriptors: number;
  readonly perSourceQuota: number;
  readonly lifetimeMs: number;
}

export class HsdirStore {
  private readonly entries = new Map<string, StoredDescriptor>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly provider: CryptoProvider, private readonly options: HsdirStoreOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Checks and stores `bytes` from `source`; returns an HsdirStoreStatus (throws BAD_DESCRIPTOR for a bad one). */
  store(bytes: Uint8Array, source: string, now: number, currentPeriod: number): number {
    const outer = checkChatDescriptorOuter(this.provider, bytes, { currentPeriod });
    const key = entryKey(outer.blindedKey, outer.period);
    const existing = this.live(key, now);
    if (existing && existing.revision >= outer.revision) return HsdirStoreStatus.STALE_REVISION;
    if (!existing) {
      if (this.entries.size >= this.options.maxDescriptors) this.expire(now);
      if (this.entries.size >= this.options.maxDescriptors) return HsdirStoreStatus.OVER_QUOTA;
      if ((this.perSource.get(source) ?? 0) >= this.options.perSourceQuota) return HsdirStoreStatus.OVER_QUOTA;
    } else {
      this.drop(key, existing);
    }
    this.entries.set(key, { bytes: bytes.slice(), revision: outer.revision, storedAt: now, source });
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    return HsdirStoreStatus.STORED;
  }

  /** The stored descriptor for (blinded key, period), or undefined. */
  fetch(blindedKey: Uint8Array, period: number, now: number): Uint8Array | undefined {
    return this.live(entryKey(blindedKey, period), now)?.bytes;
  }

  /** Read-only view for audits and tests: every entry's table key and a copy of its bytes. */
  stored(): { key: string; bytes: Uint8Array }[] {
    return [...this.entries].map(([key, entry]) => ({ key, bytes: entry.bytes.slice() }));
  }

  /** Drops every descriptor past its lifetime. */
  expire(now: number): void {
    for (const [key, entry] of this.entries) if (now - entry.storedAt >= this.options.lifetimeMs) this.drop(key, entry);
  }

  private live(key: string, now: number): StoredDescriptor | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.storedAt >= this.options.lifetimeMs) {
      this.drop(key, entry);
      return undefined;
    }
    return entry;
  }

  private drop(key: string, entry: StoredDescriptor): void {
    this.entries.delete(key);
    const n = (this.perSource.get(entry.source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(entry.source);
    else this.perSource.set(entry.source, n);
  }
}

function entryKey(blindedKey: Uint8Array, period: number): string {
  return `${toHex(blindedKey)}:${period}`;
}
