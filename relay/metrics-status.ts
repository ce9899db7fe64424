/**
 * The shapes of what a relay publishes about its operator-facing state: `RelayDaemonStatus`
 * (the `status` object of /status.json, filled by relay/daemon.ts, read by `chive monitor`)
 * and `OperatorState` (the gauges of the bandwidth limit and accounting on /metrics).
 *
 * Types only; the endpoint is relay/metrics.ts.
 */
/** Gauges of the operator's limits (setOperatorState). */
export interface OperatorState {
  bandwidthQueueBytes: number;
  throttledMs: number;
  hibernating: boolean;
  accountingBytes: number;
}

/**
 * What the daemon (relay/daemon.ts) publishes in /status.json's `status`, for `chive
 * monitor` and scripts. Times are ms since the epoch; a field may be missing on a relay of
 * an older version, so readers check each one.
 */
export interface RelayDaemonStatus {
  nickname: string;
  identity: string;
  /** The advertised ws URL. */
  url: string;
  version: string;
  exit: boolean;
  /** Flags the consensus gives this relay (RUNNING, STABLE, …), empty when not listed. */
  flags: string[];
  /** Its bandwidth weight in the consensus (0 when not listed). */
  weight: number;
  /** Relays in the consensus the relay holds, their total weight, and when that consensus became valid (null: none yet). */
  consensusRelays: number | null;
  consensusWeightTotal: number | null;
  consensusValidAfter: number | null;
  onionKeyRotatesAt: number;
  /** The identity key is kept offline; the signing key expires at signingKeyExpiresAt (null when online). */
  identityOffline: boolean;
  signingKeyExpiresAt: number | null;
  /** BandwidthRate / BandwidthBurst in bytes (0 = unlimited). */
  bandwidthRate: number;
  bandwidthBurst: number;
  /** The cell scheduler's queue (null without a limit). */
  bandwidthQueue: { cells: number; bytes: number; throttledMs: number; activeCircuits: number; overflowKills: number } | null;
  /** Accounting (null without AccountingMax). */
  accounting: { max: number; period: string; periodStart: number; periodEnd: number; used: number; hibernating: boolean } | null;
  hibernating: boolean;
  /** The LogFile (null: stderr), whose tail the monitor shows. */
  logFile: string | null;
  /** Conditions the operator should act on, in plain words (signing key about to expire, hibernation). */
  warnings: string[];
}

