/**
 * The relay daemon's operator duties over real loopback links, with both crypto providers:
 *   - accounting: with AccountingMax 64 KB, a client sending DROP cells pushes the relay
 *     over; within a second it hibernates: the circuit is destroyed (HIBERNATING), a new
 *     CREATE2 is refused and counted (refusals hibernating), /status.json and the log say so
 *     (with the time it ends), the state is saved, and a restart in the same period
 *     hibernates at once;
 *   - an offline identity whose signing key expires in two days: the daemon signs with it,
 *     warns in the log and lists the warning in /status.json (what the monitor shows); the
 *     bandwidth limit is on (scheduler, queue in /status.json).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { DestroyReason } from '../../src/wire/constants.js';
import { applyOverrides, emptyConfig, resolveConfig } from '../../relay/config.js';
import { startDaemon, type RunningDaemon } from '../../relay/daemon.js';
import { runKeygen } from '../../relay/keygen.js';
import { createLogger, type RelayLogger } from '../../relay/log.js';
import { RawLink, rawCircuit } from './raw-circuit.js';
import { freePort, tempDirs } from '../support/temp.js';

const tempDir = tempDirs('chive-daemon-');

async function daemonWith(dir: string, flags: Record<string, string>): Promise<{ daemon: RunningDaemon; log: RelayLogger; logFile: string }> {
  const logFile = join(dir, 'relay.log');
  const config = resolveConfig(
    applyOverrides(emptyConfig(), { DataDirectory: join(dir, 'data'), ORPort: '0', Testnet: '1', Nickname: 'Ops', LogFile: logFile, ...flags }),
  );
  const log = createLogger({ level: 'info', file: logFile, name: 'Ops' });
  return { daemon: await startDaemon(config, log), log, logFile };
}

async function status(daemon: RunningDaemon): Promise<{ status: Record<string, unknown> }> {
  return (await (await fetch(`${daemon.metricsUrl}/status.json`)).json()) as { status: Record<string, unknown> };
}

describe.each(['sodium', 'noble'] as const)('relay daemon operator duties (%s)', (providerName) => {
  const provider = loadCryptoProvider(providerName);

  it('hibernates at AccountingMax: destroys circuits, refuses new ones, says so, and stays asleep after a restart', async () => {
    const dir = tempDir();
    const flags = { AccountingMax: '64 KB', AccountingPeriod: 'day', MetricsPort: String(await freePort()), CryptoProvider: providerName };
    const { daemon, log, logFile } = await daemonWith(dir, flags);
    let raw: RawLink | undefined;
    try {
      raw = await RawLink.open(provider, daemon.relay.info);
      const circ = await rawCircuit(raw, [daemon.relay.info]);
      for (let i = 0; i < 200; i++) circ.send(0, { kind: 'DROP', data: new Uint8Array(100) });
      const destroyed = await circ.next((e) => e.kind === 'destroy', 5000);
      expect(destroyed).toEqual({ kind: 'destroy', reason: DestroyReason.HIBERNATING });
      expect(daemon.relay.node.hibernating).toBe(true);
      await expect(rawCircuit(raw, [daemon.relay.info])).rejects.toThrow(/CREATE2 refused/);
      expect(daemon.relay.node.counters.refusals.hibernating).toBe(1);
      const s = (await status(daemon)).status;
      expect(s.hibernating).toBe(true);
      expect(s.accounting).toMatchObject({ max: 65536, period: 'day', hibernating: true });
      expect((s.warnings as string[]).join(' ')).toContain('hibernating until');
    } finally {
      raw?.link.close();
      await daemon.stop();
      await log.close();
    }
    expect(readFileSync(logFile, 'utf8')).toMatch(/"level":"warn".*hibernating until .*new circuits are refused/);
    const saved = JSON.parse(readFileSync(join(dir, 'data', 'state', 'accounting.json'), 'utf8')) as { bytes: number };
    expect(saved.bytes).toBeGreaterThanOrEqual(65536);

    const again = await daemonWith(dir, { ...flags, MetricsPort: String(await freePort()) });
    try {
      expect(again.daemon.relay.node.hibernating).toBe(true);
    } finally {
      await again.daemon.stop();
      await again.log.close();
    }
  }, 30_000);

  it('signs with an offline identity\'s signing key and warns two days before it expires; the bandwidth limit is on', async () => {
    const dir = tempDir();
    const keys = runKeygen({
      provider, rng: (n) => provider.randomBytes(n), dataDir: join(dir, 'data'), identityKeyFile: join(tempDir(), 'identity.key'),
      signingKeyLifetimeMs: 2 * 86_400_000, now: Date.now(),
    });
    const { daemon, log, logFile } = await daemonWith(dir, { MetricsPort: String(await freePort()), BandwidthRate: '1 MB', CryptoProvider: providerName });
    try {
      expect(daemon.relay.keys.identityOffline).toBe(true);
      expect(daemon.relay.keys.identity).toEqual(keys.identity);
      expect(daemon.relay.node.scheduler).not.toBeNull();
      const s = (await status(daemon)).status;
      expect(s).toMatchObject({ identityOffline: true, signingKeyExpiresAt: keys.signingKeyExpires, bandwidthRate: 1_048_576 });
      expect(s.bandwidthQueue).toMatchObject({ cells: 0 });
      expect((s.warnings as string[]).join(' ')).toMatch(/the signing key expires in 1 day 23 h .* chive relay keygen/);
    } finally {
      await daemon.stop();
      await log.close();
    }
    const text = readFileSync(logFile, 'utf8');
    expect(text).toMatch(/"level":"warn".*the signing key expires in 1 day 23 h/);
    expect(existsSync(join(dir, 'data', 'keys', 'identity.key'))).toBe(false);
  }, 30_000);
});
