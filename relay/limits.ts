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
};
