/**
 * The relay daemon: from a resolved configuration, it loads the keys, starts the cell
 * engine, the metrics endpoint and the directory sync, and stops all of it cleanly
 * (DESTROY every circuit, close links, flush logs).
 *
 * Not argument parsing (relay/command.ts) and not cell handling (relay/relay-node.ts).
 */
import { loadCryptoProvider } from '../src/crypto/load.js';
import { parseExitPolicy, REJECT_ALL } from '../src/dirdoc/index.js';
import { loadNetworkFile, type NetworkConfig } from '../src/io/network-file.js';
import { toHex } from '../src/bytes.js';
import type { RelayConfig } from './config.js';
import { DirectorySync } from './directory-sync.js';
import { startRelay, type RunningRelay } from './index.js';
import type { RelayLogger } from './log.js';
import { RelayMetrics, startMetricsServer, type MetricsServer } from './metrics.js';

export interface RunningDaemon {
  readonly relay: RunningRelay;
  readonly sync: DirectorySync | null;
  readonly metricsUrl: string | null;
  readonly url: string;
  stop(): Promise<void>;
}

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
    },
    onInternalError: (e) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'internal error'),
  });
  const url = config.advertisedUrl ?? relay.node.url;
  log.info({ listenUrl: relay.node.url, identity: toHex(relay.keys.identity) }, 'relay listening');

  let sync: DirectorySync | null = null;
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
    const counters = relay.node.counters;
    const metrics = new RelayMetrics({
      labels: { nickname: config.nickname },
      refresh: (m) => {
        m.setTotals({
          cellsIn: { client: counters.cellsIn },
          cellsOut: { client: counters.cellsOut },
          circuitsCreated: counters.circuitsCreated,
          refusals: counters.refusals,
          oomKills: counters.oomKills,
          handshakes: { ntor: { ok: counters.handshakes.ntorOk, fail: counters.handshakes.ntorFail } },
        });
        m.setCircuits(relay.node.circuits);
        m.setLinks('client', relay.node.links.size);
        m.setQueueBytes(relay.node.queuedBytes());
        m.setStatus({
          nickname: config.nickname,
          identity: toHex(relay.keys.identity),
          flags: sync?.ourFlags ?? [],
          weight: sync?.ourWeight ?? 0,
          onionKeyRotatesAt: relay.keys.onionKeyRotatesAt,
          bandwidthRate: config.bandwidthRate,
          bandwidthBurst: config.bandwidthBurst,
        });
      },
    });
    metricsServer = await startMetricsServer({
      registry: metrics.registry,
      status: () => metrics.snapshot(),
      host: config.metricsAddress ?? '127.0.0.1',
      port: config.metricsPort,
      allowNonLoopback: config.metricsAddress !== undefined,
    });
    log.info({ metricsUrl: metricsServer.url }, 'metrics listening');
  }

  return {
    relay,
    sync,
    url,
    metricsUrl: metricsServer?.url ?? null,
    async stop() {
      sync?.stop();
      await relay.close();
      await metricsServer?.close();
      log.info('relay stopped');
    },
  };
}
