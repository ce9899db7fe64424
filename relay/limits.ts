/**
 * A relay's limits and their defaults, declared once: the cell engine enforces them and
 * the configuration keys (relay/config-keys.ts) take their defaults from here.
 * Not the enforcement (relay/relay-node.ts, relay/oom.ts).
 */
export interface RelayLimits {
  maxLinks: number;
  maxCircuits: number;
  maxCircuitsPerLink: number;
  /** CREATE2 per second per source link (0 = unlimited), and the bucket size. */
  createRate: number;
  createBurst: number;
  /** Total bytes queued on all links before the OOM handler kills circuits. */
  maxQueuedBytes: number;
  /** Per-link queue cap (the link closes past it). */
  maxQueuedBytesPerLink: number;
  /** ntor replay cache entries. */
  replayCacheEntries: number;
  exitConnectTimeoutMs: number;
  /** A link that has carried no circuit for this long is closed (ms). */
  linkIdleMs: number;
  /** ws ping interval on every link; an unanswered ping closes the link (ms, 0 = off). */
  keepaliveMs: number;
  /**
   * Bytes per second the relay reads and writes in RELAY cells (token buckets, relay/bandwidth.ts);
   * 0 = unlimited: cells go straight to the links and no scheduler exists.
   */
  bandwidthRate: number;
  /** Size of each bucket in bytes (0 = the rate). */
  bandwidthBurst: number;
  /** Introduction circuits this relay keeps at once (one per auth key). */
  maxIntroCircuits: number;
  /** Circuits waiting at this relay as a rendezvous point, and used cookies remembered. */
  maxRendezvousCookies: number;
  /** Chat descriptors stored as an HSDir, in all; per source link; how long each lives (ms). */
  hsdirMaxDescriptors: number;
  hsdirPerSourceQuota: number;
  hsdirDescriptorLifetimeMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxLinks: 4096,
  maxCircuits: 65536,
  maxCircuitsPerLink: 8192,
  createRate: 200,
  createBurst: 400,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxQueuedBytesPerLink: 8 * 1024 * 1024,
  replayCacheEntries: 65536,
  exitConnectTimeoutMs: 10_000,
  linkIdleMs: 5 * 60_000,
  keepaliveMs: 60_000,
  bandwidthRate: 0,
  bandwidthBurst: 0,
  maxIntroCircuits: 10_000,
  maxRendezvousCookies: 10_000,
  hsdirMaxDescriptors: 10_000,
  hsdirPerSourceQuota: 500,
  hsdirDescriptorLifetimeMs: 3 * 60 * 60_000,
};
