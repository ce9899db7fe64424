/**
 * Relay metrics: counters and gauges the daemon updates on its hot paths, exposed as
 * Prometheus text on GET /metrics and as a JSON snapshot on GET /status.json (what
 * `chive monitor` reads), on a local HTTP port separate from the relay's ws port.
 *
 * Each `RelayMetrics` owns its own prom-client Registry (never the global one), so several
 * relays in one process (the in-process test network) do not collide. Updates are plain
 * number additions; prom-client reads them only when scraped (`collect`), so counting
 * costs nothing measurable — still, count per frame or batch (`countCellsIn(kind, n)`).
 * A daemon that keeps its own plain counters (relay/counters.ts) can instead copy them in
 * with `setTotals` from the `refresh` hook, which runs once per scrape. Labels take only
 * the fixed values declared here (bounded cardinality): an unknown reason is `other`.
 *
 * Not here: what to count (the daemon decides), the monitor UI (relay/monitor/), and any
 * client address: no metric is labelled by peer.
 */
import { REFUSAL_REASONS as COUNTED_REFUSAL_REASONS } from './counters.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ChiveError } from '../src/errors.js';
import { DestroyReason } from '../src/wire/constants.js';
import type { OperatorState, RelayDaemonStatus } from './metrics-status.js';

export type { OperatorState, RelayDaemonStatus } from './metrics-status.js';

export type LinkKind = 'client' | 'relay';
export type HandshakeKind = 'ntor' | 'noise_nk' | 'noise_xk';
export type HandshakeResult = 'ok' | 'fail';

export const LINK_KINDS: readonly LinkKind[] = ['client', 'relay'];
export const HANDSHAKE_KINDS: readonly HandshakeKind[] = ['ntor', 'noise_nk', 'noise_xk'];

/** Why the relay refused something a peer asked for; each is a label value of refusals_total. */
/** Every refusal reason the relay counts (relay/counters.ts), plus `other` for anything else. */
export const REFUSAL_REASONS = [...COUNTED_REFUSAL_REASONS, 'other'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Label values of circuits_destroyed_total: the DESTROY reason names, lower-cased, and `other`. */
export type DestroyReasonLabel = Lowercase<keyof typeof DestroyReason> | 'other';
export const DESTROY_REASONS = [
  ...(Object.keys(DestroyReason) as (keyof typeof DestroyReason)[]).map((k) => k.toLowerCase() as DestroyReasonLabel),
  'other' as const,
];

/** Prefix of every relay metric name (the process_* default metrics keep their usual names). */
export const METRIC_PREFIX = 'chive_relay_';

/** The entries of `given` whose keys `into` already has (no new label values from outside). */
function pick<K extends string>(given: Partial<Record<K, number>> | undefined, into: Record<K, number>): Partial<Record<K, number>> {
  if (given === undefined) return {};
  return Object.fromEntries(Object.entries(given).filter(([k, v]) => Object.hasOwn(into, k) && typeof v === 'number')) as Partial<Record<K, number>>;
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export interface RelayMetricsOptions {
  /** Also collect process CPU, memory, event-loop lag, GC (prom-client defaults). Default true. */
  defaultMetrics?: boolean;
  /** Labels put on every series, e.g. `{ nickname: 'Alpha' }`. */
  labels?: Record<string, string>;
  /** Milliseconds clock for uptime; default Date.now. */
  now?: () => number;
  /**
   * Called once before every scrape and snapshot, for a daemon that keeps its own plain
   * counters: copy them in with `setTotals` here.
   */
  refresh?: (metrics: RelayMetrics) => void;
}

/** Absolute counter values for `setTotals`; what is omitted stays as it is. */
export interface RelayTotals {
  cellsIn?: Partial<Record<LinkKind, number>>;
  cellsOut?: Partial<Record<LinkKind, number>>;
  bytesRead?: number;
  bytesWritten?: number;
  circuitsCreated?: number;
  circuitsDestroyed?: Partial<Record<DestroyReasonLabel, number>>;
  handshakes?: Partial<Record<HandshakeKind, Partial<Record<HandshakeResult, number>>>>;
  /** By reason; reasons not in REFUSAL_REASONS are summed into `other`. */
  refusals?: Readonly<Record<string, number>>;
  oomKills?: number;
}

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly refreshHook: ((metrics: RelayMetrics) => void) | undefined;
  private refreshedThisTick = false;
  private readonly startedAt: number;
  private status: Record<string, unknown> = {};
  private readonly cellsIn = zeroes(LINK_KINDS);
  private readonly cellsOut = zeroes(LINK_KINDS);
  private readonly links = zeroes(LINK_KINDS);
  private readonly handshakes = Object.fromEntries(HANDSHAKE_KINDS.map((k) => [k, { ok: 0, fail: 0 }])) as Record<HandshakeKind, Record<HandshakeResult, number>>;
  private readonly refusals = zeroes(REFUSAL_REASONS);
  private readonly destroyed = zeroes(DESTROY_REASONS);
  private circuits = 0;
  private circuitsCreated = 0;
  private queueBytes = 0;
  private oomKills = 0;
  private bytesRead = 0;
  private bytesWritten = 0;
  private operator: OperatorState = { bandwidthQueueBytes: 0, throttledMs: 0, hibernating: false, accountingBytes: 0 };

  constructor(options: RelayMetricsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.refreshHook = options.refresh;
    this.startedAt = this.now();
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.defineMetrics();
  }

  countCellsIn(kind: LinkKind, n = 1): void {
    this.cellsIn[kind] += n;
  }
  countCellsOut(kind: LinkKind, n = 1): void {
    this.cellsOut[kind] += n;
  }
  countBytesRead(n: number): void {
    this.bytesRead += n;
  }
  countBytesWritten(n: number): void {
    this.bytesWritten += n;
  }
  circuitCreated(): void {
    this.circuitsCreated += 1;
  }
  circuitDestroyed(reason: DestroyReasonLabel): void {
    this.destroyed[Object.hasOwn(this.destroyed, reason) ? reason : 'other'] += 1;
  }
  handshake(kind: HandshakeKind, result: HandshakeResult): void {
    const byResult = this.handshakes[kind];
    if (byResult !== undefined && (result === 'ok' || result === 'fail')) byResult[result] += 1;
  }
  refused(reason: RefusalReason, n = 1): void {
    this.refusals[Object.hasOwn(this.refusals, reason) ? reason : 'other'] += n;
  }
  oomKilled(circuits = 1): void {
    this.oomKills += circuits;
  }
  setCircuits(n: number): void {
    this.circuits = n;
  }
  setLinks(kind: LinkKind, n: number): void {
    this.links[kind] = n;
  }
  setQueueBytes(n: number): void {
    this.queueBytes = n;
  }

  /** Sets counters to absolute totals (copied from counters kept elsewhere); omitted ones are unchanged. */
  setTotals(t: RelayTotals): void {
    Object.assign(this.cellsIn, pick(t.cellsIn, this.cellsIn));
    Object.assign(this.cellsOut, pick(t.cellsOut, this.cellsOut));
    Object.assign(this.destroyed, pick(t.circuitsDestroyed, this.destroyed));
    for (const k of HANDSHAKE_KINDS) Object.assign(this.handshakes[k], pick(t.handshakes?.[k], this.handshakes[k]));
    if (t.refusals) {
      let other = 0;
      for (const [reason, n] of Object.entries(t.refusals)) {
        if (reason !== 'other' && Object.hasOwn(this.refusals, reason)) this.refusals[reason as RefusalReason] = n;
        else other += n;
      }
      this.refusals.other = other;
    }
    if (t.bytesRead !== undefined) this.bytesRead = t.bytesRead;
    if (t.bytesWritten !== undefined) this.bytesWritten = t.bytesWritten;
    if (t.circuitsCreated !== undefined) this.circuitsCreated = t.circuitsCreated;
    if (t.oomKills !== undefined) this.oomKills = t.oomKills;
  }

  /** Runs the refresh hook at most once per tick (a scrape collects every metric in one tick). */
  private refresh(): void {
    if (this.refreshHook === undefined || this.refreshedThisTick) return;
    this.refreshedThisTick = true;
    queueMicrotask(() => {
      this.refreshedThisTick = false;
    });
    this.refreshHook(this);
  }

  /** Merges daemon state (RelayDaemonStatus: nickname, flags, key times, limits…) into /status.json; must be JSON-able. */
  setStatus(patch: Partial<RelayDaemonStatus> | Record<string, unknown>): void {
    this.status = { ...this.status, ...patch };
  }

  /** Bandwidth-limit and accounting state, as gauges on /metrics (the details go in setStatus). */
  setOperatorState(patch: Partial<OperatorState>): void {
    this.operator = { ...this.operator, ...patch };
  }

  /** The JSON document served on /status.json. */
  snapshot(): RelayStatusSnapshot {
    this.refresh();
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
    return {
      time: this.now(),
      uptimeSeconds: (this.now() - this.startedAt) / 1000,
      cellsIn: { ...this.cellsIn, total: sum(this.cellsIn) },
      cellsOut: { ...this.cellsOut, total: sum(this.cellsOut) },
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      circuits: this.circuits,
      circuitsCreated: this.circuitsCreated,
      circuitsDestroyed: { ...this.destroyed },
      links: { ...this.links, total: sum(this.links) },
      handshakes: Object.fromEntries(HANDSHAKE_KINDS.map((k) => [k, { ...this.handshakes[k] }])) as RelayStatusSnapshot['handshakes'],
      refusals: { ...this.refusals },
      queueBytes: this.queueBytes,
      oomKills: this.oomKills,
      process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, cpuUserSeconds: cpu.user / 1e6, cpuSystemSeconds: cpu.system / 1e6 },
      status: { ...this.status },
    };
  }

  /** Serves this registry and snapshot; see `startMetricsServer`. */
  startServer(options: Omit<MetricsServerOptions, 'registry' | 'status'>): Promise<MetricsServer> {
    return startMetricsServer({ ...options, registry: this.registry, status: () => this.snapshot() });
  }

  private defineMetrics(): void {
    const registers = [this.registry];
    const self = this;
    // Every collect refreshes first (deduplicated per tick), so the order of collection does not matter.
    const counter = (n: string, help: string, labelNames: string[], fill: (c: Counter<string>) => void): void => {
      new Counter({ name: METRIC_PREFIX + n, help, labelNames, registers, collect(this: Counter<string>) { self.refresh(); this.reset(); fill(this); } });
    };
    const gauge = (n: string, help: string, labelNames: string[], fill: (g: Gauge<string>) => void): void => {
      new Gauge({ name: METRIC_PREFIX + n, help, labelNames, registers, collect(this: Gauge<string>) { self.refresh(); fill(this); } });
    };
    const byLabel = (label: string, values: Record<string, number>) => (c: Counter<string>): void => {
      for (const [v, n] of Object.entries(values)) c.inc({ [label]: v }, n);
    };
    counter('cells_in_total', 'Cells received, by link kind', ['link_kind'], byLabel('link_kind', this.cellsIn));
    counter('cells_out_total', 'Cells sent, by link kind', ['link_kind'], byLabel('link_kind', this.cellsOut));
    counter('bytes_read_total', 'Bytes read from links', [], (c) => c.inc(this.bytesRead));
    counter('bytes_written_total', 'Bytes written to links', [], (c) => c.inc(this.bytesWritten));
    gauge('circuits', 'Open circuits', [], (g) => g.set(this.circuits));
    counter('circuits_created_total', 'Circuits created', [], (c) => c.inc(this.circuitsCreated));
    counter('circuits_destroyed_total', 'Circuits destroyed, by reason', ['reason'], byLabel('reason', this.destroyed));
    gauge('links', 'Open links, by link kind', ['link_kind'], (g) => {
      for (const k of LINK_KINDS) g.set({ link_kind: k }, this.links[k]);
    });
    counter('handshakes_total', 'Handshakes, by kind and result', ['kind', 'result'], (c) => {
      for (const k of HANDSHAKE_KINDS) for (const r of ['ok', 'fail'] as const) c.inc({ kind: k, result: r }, this.handshakes[k][r]);
    });
    counter('refusals_total', 'Requests refused, by reason', ['reason'], byLabel('reason', this.refusals));
    gauge('queue_bytes', 'Bytes queued on all links', [], (g) => g.set(this.queueBytes));
    counter('oom_kills_total', 'Circuits destroyed by the out-of-memory handler', [], (c) => c.inc(this.oomKills));
    gauge('uptime_seconds', 'Seconds since the relay started', [], (g) => g.set((this.now() - this.startedAt) / 1000));
    gauge('bandwidth_queue_bytes', 'Bytes of cells waiting for bandwidth tokens (BandwidthRate)', [], (g) => g.set(this.operator.bandwidthQueueBytes));
    counter('bandwidth_throttled_seconds_total', 'Seconds cells waited because the relay was at BandwidthRate', [], (c) => c.inc(this.operator.throttledMs / 1000));
    gauge('hibernating', '1 while AccountingMax is reached (new circuits refused), else 0', [], (g) => g.set(this.operator.hibernating ? 1 : 0));
    gauge('accounting_bytes', 'Bytes read and written in this accounting period', [], (g) => g.set(this.operator.accountingBytes));
  }
}

export interface RelayStatusSnapshot {
  /** When the snapshot was made (ms since the epoch, the relay's clock). */
  time: number;
  uptimeSeconds: number;
  cellsIn: Record<LinkKind | 'total', number>;
  cellsOut: Record<LinkKind | 'total', number>;
  bytesRead: number;
  bytesWritten: number;
  circuits: number;
  circuitsCreated: number;
  circuitsDestroyed: Record<DestroyReasonLabel, number>;
  links: Record<LinkKind | 'total', number>;
  handshakes: Record<HandshakeKind, Record<HandshakeResult, number>>;
  refusals: Record<RefusalReason, number>;
  queueBytes: number;
  oomKills: number;
  process: { rssBytes: number; heapUsedBytes: number; cpuUserSeconds: number; cpuSystemSeconds: number };
  status: Record<string, unknown>;
}

export interface MetricsServerOptions {
  registry: Registry;
  /** Produces the /status.json document; without it /status.json is 404. */
  status?: () => unknown;
  /** Default 127.0.0.1. A non-loopback host is refused unless `allowNonLoopback` (MetricsAddress set). */
  host?: string;
  /** 0 = a random free port. */
  port: number;
  allowNonLoopback?: boolean;
  /** Where the warning about a non-loopback bind goes; default process.emitWarning. */
  logger?: { warn(obj: object, msg: string): void };
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:9035 */
  readonly url: string;
  close(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Starts the /metrics + /status.json HTTP endpoint. Rejects (CONFIG_INVALID) a non-loopback host not explicitly allowed. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback && !options.allowNonLoopback) {
    throw new ChiveError('CONFIG_INVALID', `refusing to serve metrics on ${host}, which is not a loopback address: set MetricsAddress to expose them deliberately`);
  }
  const server = createServer((req, res) => {
    handle(req, res, options, loopback).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(new ChiveError('METRICS_LISTEN_FAILED', `metrics endpoint cannot listen on ${host}:${options.port}: ${e.code ?? e.message}`, { cause: e }));
    });
    server.listen({ host, port: options.port }, () => resolve());
  });
  if (!loopback) {
    const msg = `metrics endpoint listens on ${host}, reachable from beyond this machine (MetricsAddress)`;
    if (options.logger) options.logger.warn({ event: 'metrics_non_loopback' }, msg);
    else process.emitWarning(msg);
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** On a loopback bind, only loopback Host headers are served (no DNS-rebinding reads from a browser). */
function hostHeaderAllowed(req: IncomingMessage): boolean {
  const header = req.headers.host;
  if (header === undefined) return true;
  const hostname = header.replace(/:[0-9]*$/, '');
  return isLoopbackHost(hostname);
}

async function handle(req: IncomingMessage, res: ServerResponse, options: MetricsServerOptions, loopback: boolean): Promise<void> {
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  const send = (code: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(code, { ...headers, ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
  if (loopback && !hostHeaderAllowed(req)) return send(403, 'text/plain', 'forbidden host\n');
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/metrics') return send(200, options.registry.contentType, await options.registry.metrics());
  if (path === '/status.json' && options.status) return send(200, 'application/json', JSON.stringify(options.status()) + '\n');
  return send(404, 'text/plain', 'not found: try /metrics or /status.json\n');
}
