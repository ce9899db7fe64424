/**
 * The relay daemon: from a resolved configuration, it loads the keys, starts the cell
 * engine (with the bandwidth limit), the metrics endpoint and the directory sync, runs the
 * operator's duties once a second (bytes metered, accounting and hibernation, warnings
 * about a signing key that is about to expire), and stops all of it cleanly (DESTROY every
 * circuit, close links, save the accounting state, flush logs).
 *
 * Not argument parsing (relay/command.ts) and not cell handling (relay/relay-node.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCryptoProvider } from '../src/crypto/load.js';
import { parseExitPolicy, REJECT_ALL } from '../src/dirdoc/index.js';
import { ensureDataDir, writeFileAtomic } from '../src/io/key-files.js';
import { loadNetworkFile, type NetworkConfig } from '../src/io/network-file.js';
import { toHex } from '../src/bytes.js';
import { DestroyReason } from '../src/wire/constants.js';
import { Accounting, parseAccountingState } from './accounting.js';
import { BandwidthMeter } from './bandwidth-meter.js';
import type { RelayConfig } from './config.js';
import { formatApproxDuration, formatBytes } from './config-units.js';
import { DirectorySync, SOFTWARE_VERSION } from './directory-sync.js';
import { startRelay, type RunningRelay } from './index.js';
import { SIGNING_KEY_WARN_MS } from './keys.js';
import type { RelayLogger } from './log.js';
import { RelayMetrics, startMetricsServer, type MetricsServer, type RelayDaemonStatus } from './metrics.js';

export interface RunningDaemon {
  readonly relay: RunningRelay;
  readonly sync: DirectorySync | null;
  readonly metricsUrl: string | null;
  readonly url: string;
  stop(): Promise<void>;
}

/** How often the accounting state is saved (and on stop). */
const ACCOUNTING_SAVE_MS = 60_000;
/** How often a signing key inside its warning window is warned about again in the log. */
const SIGNING_KEY_REWARN_MS = 6 * 3600_000;

export async function startDaemon(config: RelayConfig, log: RelayLogger): Promise<RunningDaemon> {
  const provider = loadCryptoProvider(config.cryptoProvider, (line) => log.warn(line));
  const now = Date.now;
  const exitPolicy = config.exitPolicy.length > 0 ? parseExitPolicy(config.exitPolicy.join('\n')) : null;
  const relay = await startRelay({
    dataDir: config.dataDirectory,
    provider,
    host: config.address,
    port: config.orPort,
    exitPolicy,
    now,
    onionKeyRotationMs: config.onionKeyRotationMs,
    onionKeyGraceMs: config.onionKeyGraceMs,
    limits: {
      maxLinks: config.maxLinks,
      maxCircuits: config.maxCircuits,
      maxCircuitsPerLink: config.maxCircuitsPerLink,
      createRate: config.createRate,
      createBurst: config.createBurst,
      maxQueuedBytes: config.maxQueuedBytes,
      maxQueuedBytesPerLink: config.maxQueuedBytesPerLink,
      bandwidthRate: config.bandwidthRate,
      bandwidthBurst: config.bandwidthBurst,
    },
    onInternalError: (e) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'internal error'),
  });
  const node = relay.node;
  const url = config.advertisedUrl ?? node.url;
  log.info({ listenUrl: node.url, identity: toHex(relay.keys.identity) }, 'relay listening');
  if (config.bandwidthRate > 0) {
    log.info({ rate: config.bandwidthRate, burst: config.bandwidthBurst }, `bandwidth limited to ${formatBytes(config.bandwidthRate)}/s each way (burst ${formatBytes(config.bandwidthBurst)})`);
  }

  const warnings = new Map<string, string>();
  let sync: DirectorySync | null = null;
  const signingKey = watchSigningKey(relay, log, warnings, now, () => void sync?.uploadAll());
  const meter = new BandwidthMeter();
  const accounting = config.accountingMax > 0 ? startAccounting(config, relay, log, warnings, now) : null;
  const tick = (): void => {
    const before = accounting?.meteredTotal ?? 0;
    const { bytesRead, bytesWritten } = meter.poll(node.links.keys());
    accounting?.count(bytesRead + bytesWritten - before);
    signingKey.check();
  };
  const ticker = setInterval(tick, 1000);
  ticker.unref();
  tick();

  let network: NetworkConfig | null = null;
  if (config.network) {
    network = loadNetworkFile(config.network);
    sync = new DirectorySync({
      provider,
      relay,
      keys: relay.keys,
      network,
      nickname: config.nickname,
      advertisedUrl: url,
      bandwidth: config.bandwidthRate > 0 ? Math.min(config.bandwidthRate, 0xffff_ffff) : 100 * 1024 * 1024,
      exitPolicy: exitPolicy ?? REJECT_ALL,
      family: config.family,
      contact: config.contactInfo ?? '',
      uploadIntervalMs: config.descriptorUploadIntervalMs,
      now,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
    });
    await sync.start();
  } else {
    log.warn('no Network configured: the relay uploads no descriptor and accepts any neighbour');
  }

  let metricsServer: MetricsServer | null = null;
  if (config.metricsPort > 0) {
    const counters = node.counters;
    const metrics = new RelayMetrics({
      labels: { nickname: config.nickname },
      refresh: (m) => {
        const bytes = meter.poll(node.links.keys());
        m.setTotals({
          cellsIn: { client: counters.cellsIn },
          cellsOut: { client: counters.cellsOut },
          bytesRead: bytes.bytesRead,
          bytesWritten: bytes.bytesWritten,
          circuitsCreated: counters.circuitsCreated,
          refusals: counters.refusals,
          oomKills: counters.oomKills,
          handshakes: { ntor: { ok: counters.handshakes.ntorOk, fail: counters.handshakes.ntorFail } },
        });
        m.setCircuits(node.circuits);
        m.setLinks('client', node.links.size);
        m.setQueueBytes(node.queuedBytes());
        const queue = node.scheduler?.stats ?? null;
        const acct = accounting?.snapshot() ?? null;
        m.setOperatorState({
          bandwidthQueueBytes: queue?.queuedBytes ?? 0,
          throttledMs: queue?.throttledMs ?? 0,
          hibernating: node.hibernating,
          accountingBytes: acct?.used ?? 0,
        });
        const status: RelayDaemonStatus = {
          nickname: config.nickname,
          identity: toHex(relay.keys.identity),
          url,
          version: SOFTWARE_VERSION,
          exit: exitPolicy !== null && exitPolicy.some((r) => r.action === 'accept'),
          flags: sync?.ourFlags ?? [],
          weight: sync?.ourWeight ?? 0,
          consensusRelays: sync?.consensus?.relays.length ?? null,
          consensusWeightTotal: sync?.consensus ? sync.consensus.relays.reduce((sum, r) => sum + r.weight, 0) : null,
          consensusValidAfter: sync?.consensus?.validAfter ?? null,
          onionKeyRotatesAt: relay.keys.onionKeyRotatesAt,
          identityOffline: relay.keys.identityOffline,
          signingKeyExpiresAt: relay.keys.signingKeyExpiresAt,
          bandwidthRate: config.bandwidthRate,
          bandwidthBurst: config.bandwidthBurst,
          bandwidthQueue: queue && {
            cells: queue.queuedCells,
            bytes: queue.queuedBytes,
            throttledMs: queue.throttledMs,
            activeCircuits: queue.activeCircuits,
            overflowKills: queue.overflowKills,
          },
          accounting: acct,
          hibernating: node.hibernating,
          logFile: config.logFile ?? null,
          warnings: [...warnings.values()],
        };
        m.setStatus(status);
      },
    });
    try {
      metricsServer = await startMetricsServer({
        registry: metrics.registry,
        status: () => metrics.snapshot(),
        host: config.metricsAddress ?? '127.0.0.1',
        port: config.metricsPort,
        allowNonLoopback: config.metricsAddress !== undefined,
      });
    } catch (e) {
      // Undo what already runs (its timers would keep the process alive), then report.
      clearInterval(ticker);
      sync?.stop();
      await relay.close();
      throw e;
    }
    log.info({ metricsUrl: metricsServer.url }, 'metrics listening');
  }

  return {
    relay,
    sync,
    url,
    metricsUrl: metricsServer?.url ?? null,
    async stop() {
      clearInterval(ticker);
      sync?.stop();
      tick();
      accounting?.save();
      await relay.close();
      await metricsServer?.close();
      log.info('relay stopped');
    },
  };
}

/**
 * Logs (and lists for the monitor) a signing key that expires within SIGNING_KEY_WARN_MS,
 * or has; picks up a key renewed on disk (looked for once a minute) and republishes.
 */
function watchSigningKey(
  relay: RunningRelay, log: RelayLogger, warnings: Map<string, string>, now: () => number, republish: () => void,
): { check(): void } {
  const keys = relay.keys;
  if (keys.signingKeyExpiresAt === null) return { check() {} };
  log.info({ signingKeyExpiresAt: new Date(keys.signingKeyExpiresAt).toISOString() }, 'identity key offline: signing with the medium-term signing key');
  let lastWarned = -Infinity;
  let lastRefresh = now();
  return {
    check() {
      const t = now();
      if (t - lastRefresh >= 60_000) {
        lastRefresh = t;
        if (keys.refreshSigningKey()) {
          warnings.delete('signingKey');
          lastWarned = -Infinity;
          log.info({ signingKeyExpiresAt: new Date(keys.signingKeyExpiresAt!).toISOString() }, 'renewed signing key adopted; republishing the descriptor');
          republish();
        }
      }
      const expires = keys.signingKeyExpiresAt!;
      const left = expires - t;
      if (left >= SIGNING_KEY_WARN_MS) return;
      const renew = 'renew with: chive relay keygen --data-directory <DataDirectory> --identity-key <offline identity.key>';
      const text =
        left > 0
          ? `the signing key expires in ${formatApproxDuration(left)} (${new Date(expires).toISOString()}); ${renew}`
          : `the signing key expired at ${new Date(expires).toISOString()}: authorities refuse this relay's descriptors; ${renew}`;
      warnings.set('signingKey', text);
      if (t - lastWarned < SIGNING_KEY_REWARN_MS) return;
      lastWarned = t;
      if (left > 0) log.warn({ signingKeyExpiresAt: new Date(expires).toISOString() }, text);
      else log.error({ signingKeyExpiresAt: new Date(expires).toISOString() }, text);
    },
  };
}

interface RunningAccounting {
  /** The meter's total (read + written) already counted. */
  readonly meteredTotal: number;
  count(bytes: number): void;
  snapshot(): ReturnType<Accounting['snapshot']>;
  save(): void;
}

/** Accounting with its state in DataDirectory/state/accounting.json; hibernation and waking act on the relay. */
function startAccounting(config: RelayConfig, relay: RunningRelay, log: RelayLogger, warnings: Map<string, string>, now: () => number): RunningAccounting {
  const stateFile = join(ensureDataDir(join(config.dataDirectory, 'state')), 'accounting.json');
  let saved = null;
  if (existsSync(stateFile)) {
    saved = parseAccountingState(readFileSync(stateFile, 'utf8'));
    if (saved === null) log.warn({ file: stateFile }, 'accounting state unreadable: counting this period from zero');
  }
  const accounting = new Accounting({ max: config.accountingMax, period: config.accountingPeriod, now: now(), saved });
  const node = relay.node;
  let metered = 0;
  let lastSave = now();
  const save = (): void => {
    writeFileAtomic(stateFile, JSON.stringify(accounting.toJSON()) + '\n');
    lastSave = now();
  };
  const count = (bytes: number): void => {
    metered += bytes;
    const event = accounting.add(bytes, now());
    if (event?.kind === 'hibernate') {
      node.hibernating = true;
      const text =
        `accounting: ${formatBytes(event.used)} of AccountingMax ${formatBytes(event.max)} used this ${config.accountingPeriod}; ` +
        `hibernating until ${new Date(event.until).toISOString()}: new circuits are refused`;
      warnings.set('hibernating', text);
      log.warn({ used: event.used, max: event.max, until: new Date(event.until).toISOString() }, text);
      for (const state of [...node.links.values()]) {
        for (const circ of [...state.circuits.values()]) node.destroyCircuit(circ, DestroyReason.HIBERNATING, null);
      }
      save();
    } else if (event?.kind === 'wake') {
      node.hibernating = false;
      warnings.delete('hibernating');
      log.info({ periodStart: new Date(event.periodStart).toISOString() }, 'accounting: a new period began; hibernation is over');
      save();
    } else if (now() - lastSave >= ACCOUNTING_SAVE_MS) save();
  };
  log.info(
    { max: config.accountingMax, period: config.accountingPeriod, used: accounting.snapshot().used },
    `accounting: at most ${formatBytes(config.accountingMax)} per ${config.accountingPeriod}`,
  );
  return {
    get meteredTotal() {
      return metered;
    },
    count,
    snapshot: () => accounting.snapshot(),
    save,
  };
}
