/**
 * The monitor's data: a relay's /status.json read defensively into `RelayView` (every
 * field checked, missing ones defaulted: the document comes over a socket and may be from
 * another version), and `MonitorModel`, the history of per-second rates computed from
 * successive snapshots (bytes and cells in / out, circuits created, CPU, throttling,
 * overload counters) that the panels draw.
 *
 * Pure: no I/O, no clock (the snapshot's own `time` orders samples). Not the fetching
 * (status-client.ts) and not the drawing (graph.ts, panels.ts).
 */

export interface QueueView {
  cells: number;
  bytes: number;
  throttledMs: number;
  activeCircuits: number;
  overflowKills: number;
}

export interface AccountingView {
  max: number;
  period: string;
  periodStart: number;
  periodEnd: number;
  used: number;
  hibernating: boolean;
}

/** What the monitor uses of one /status.json document. */
export interface RelayView {
  time: number;
  uptimeSeconds: number;
  bytesRead: number;
  bytesWritten: number;
  cellsIn: number;
  cellsOut: number;
  circuits: number;
  circuitsCreated: number;
  links: number;
  handshakeFailures: number;
  oomKills: number;
  refusals: Record<string, number>;
  rssBytes: number;
  heapUsedBytes: number;
  cpuSeconds: number;
  nickname: string;
  identity: string;
  url: string;
  version: string;
  exit: boolean;
  flags: string[];
  weight: number;
  consensusRelays: number | null;
  consensusWeightTotal: number | null;
  onionKeyRotatesAt: number | null;
  identityOffline: boolean;
  signingKeyExpiresAt: number | null;
  bandwidthRate: number;
  bandwidthBurst: number;
  queue: QueueView | null;
  accounting: AccountingView | null;
  hibernating: boolean;
  logFile: string | null;
  warnings: string[];
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Refusal reasons that are rate or capacity limits saying no (not malformed input). */
export const LIMIT_REFUSALS = ['create_rate', 'max_circuits', 'max_circuits_per_link', 'max_links', 'hibernating', 'flow_control'] as const;

/** Reads a /status.json document; never throws (a field of the wrong type reads as absent). */
export function parseRelayStatus(doc: unknown): RelayView {
  const d = obj(doc);
  const s = obj(d.status);
  const proc = obj(d.process);
  const hs = obj(obj(d.handshakes).ntor);
  const refusals: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(d.refusals))) if (typeof v === 'number') refusals[k] = v;
  const q = s.bandwidthQueue === null || s.bandwidthQueue === undefined ? null : obj(s.bandwidthQueue);
  const a = s.accounting === null || s.accounting === undefined ? null : obj(s.accounting);
  return {
    time: num(d.time),
    uptimeSeconds: num(d.uptimeSeconds),
    bytesRead: num(d.bytesRead),
    bytesWritten: num(d.bytesWritten),
    cellsIn: num(obj(d.cellsIn).total),
    cellsOut: num(obj(d.cellsOut).total),
    circuits: num(d.circuits),
    circuitsCreated: num(d.circuitsCreated),
    links: num(obj(d.links).total),
    handshakeFailures: num(hs.fail),
    oomKills: num(d.oomKills),
    refusals,
    rssBytes: num(proc.rssBytes),
    heapUsedBytes: num(proc.heapUsedBytes),
    cpuSeconds: num(proc.cpuUserSeconds) + num(proc.cpuSystemSeconds),
    nickname: str(s.nickname, '?'),
    identity: str(s.identity),
    url: str(s.url),
    version: str(s.version),
    exit: s.exit === true,
    flags: strings(s.flags),
    weight: num(s.weight),
    consensusRelays: numOrNull(s.consensusRelays),
    consensusWeightTotal: numOrNull(s.consensusWeightTotal),
    onionKeyRotatesAt: numOrNull(s.onionKeyRotatesAt),
    identityOffline: s.identityOffline === true,
    signingKeyExpiresAt: numOrNull(s.signingKeyExpiresAt),
    bandwidthRate: num(s.bandwidthRate),
    bandwidthBurst: num(s.bandwidthBurst),
    queue: q && {
      cells: num(q.cells),
      bytes: num(q.bytes),
      throttledMs: num(q.throttledMs),
      activeCircuits: num(q.activeCircuits),
      overflowKills: num(q.overflowKills),
    },
    accounting: a && {
      max: num(a.max),
      period: str(a.period),
      periodStart: num(a.periodStart),
      periodEnd: num(a.periodEnd),
      used: num(a.used),
      hibernating: a.hibernating === true,
    },
    hibernating: s.hibernating === true,
    logFile: typeof s.logFile === 'string' ? s.logFile : null,
    warnings: strings(s.warnings),
  };
}

/** Rates between two snapshots, per second. */
export interface Rates {
  /** Seconds between the two snapshots. */
  seconds: number;
  bytesIn: number;
  bytesOut: number;
  cellsIn: number;
  cellsOut: number;
  circuitsCreated: number;
  /** CPU use, percent of one core. */
  cpuPercent: number;
  /** Share of the interval cells waited for bandwidth tokens, 0..1. */
  throttled: number;
  /** Increases during the interval (overload indicators). */
  handshakeFailures: number;
  oomKills: number;
  limitRefusals: number;
}

export function ratesBetween(a: RelayView, b: RelayView): Rates | null {
  const seconds = (b.time - a.time) / 1000;
  if (!(seconds > 0) || b.uptimeSeconds < a.uptimeSeconds) return null; // same snapshot, or the relay restarted
  const per = (x: number, y: number): number => Math.max(0, y - x) / seconds;
  const limits = (v: RelayView): number => LIMIT_REFUSALS.reduce((sum, r) => sum + (v.refusals[r] ?? 0), 0);
  return {
    seconds,
    bytesIn: per(a.bytesRead, b.bytesRead),
    bytesOut: per(a.bytesWritten, b.bytesWritten),
    cellsIn: per(a.cellsIn, b.cellsIn),
    cellsOut: per(a.cellsOut, b.cellsOut),
    circuitsCreated: per(a.circuitsCreated, b.circuitsCreated),
    cpuPercent: per(a.cpuSeconds, b.cpuSeconds) * 100,
    throttled: Math.min(1, per(a.queue?.throttledMs ?? 0, b.queue?.throttledMs ?? 0) / 1000),
    handshakeFailures: Math.max(0, b.handshakeFailures - a.handshakeFailures),
    oomKills: Math.max(0, b.oomKills - a.oomKills),
    limitRefusals: Math.max(0, limits(b) - limits(a)),
  };
}

/** Most samples of rate history kept (enough for a graph as wide as a large terminal). */
export const HISTORY_LENGTH = 600;

export interface MonitorModel {
  /** The latest snapshot, or null before the first one. */
  latest: RelayView | null;
  /** Rates between consecutive snapshots, oldest first. */
  history: Rates[];
  /** The last fetch error (cleared by a good fetch), for the header. */
  error: string | null;
}

export function emptyModel(): MonitorModel {
  return { latest: null, history: [], error: null };
}

/** Adds a snapshot: its rates against the previous one join the history. */
export function addSnapshot(model: MonitorModel, view: RelayView): MonitorModel {
  const rates = model.latest ? ratesBetween(model.latest, view) : null;
  const history = rates ? [...model.history, rates].slice(-HISTORY_LENGTH) : model.latest && view.uptimeSeconds < model.latest.uptimeSeconds ? [] : model.history;
  return { latest: view, history, error: null };
}

export function withError(model: MonitorModel, error: string): MonitorModel {
  return { ...model, error };
}
