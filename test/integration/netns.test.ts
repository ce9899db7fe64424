/**
 * `chive testnet --netns` on this machine (Linux, root, iproute2):
 *   - when namespaces cannot be made, the launcher says why (TESTNET_NETNS_UNAVAILABLE);
 *   - otherwise 2 authorities and 4 relays, each in a network namespace of its own: the
 *     network file pins the authorities at 10.0.1.x, the consensus lists the relays at
 *     ws://10.K.0.1:9001 — four distinct /16s — and each node process lives in its own
 *     namespace; a client on the host with path selection's /16 rule ON
 *     (allowSameSubnet: false) builds 3-hop circuits over real addresses and echoes through
 *     an exit to a server on the host's bridge address; stop() removes every namespace and
 *     the bridge;
 *   - --link-delay 50ms (netem, or the nfqueue fallback where the kernel has no netem): a
 *     `chive bench` run inside the client's namespace — as a client on another host would —
 *     measures circuit build, per-hop and round-trip times within 20 % of what the delays
 *     predict (D one way per packet a namespace sends; the bench target is on the host,
 *     whose packets are not delayed): build 12·D (2·D + 4·D + 6·D), RTT 7·D;
 *   - asked for netem on a kernel without it, the launcher refuses before starting
 *     anything, with an error naming netem and the fallback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isChiveError } from '../../src/errors.js';
import { loadNetworkFile } from '../../src/io/network-file.js';
import { ChiveClient } from '../../client/client.js';
import { type Testnet, launchTestnet } from '../../testnet/launcher.js';
import { measureCircuit } from '../../testnet/measure.js';
import { chooseLinkDelayMethod, probeNetns } from '../../testnet/netns.js';
import { startBenchServer } from '../../testnet/bench-server.js';
import { CHIVE_BIN } from '../../testnet/node-process.js';

const execFileAsync = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chive-netns-'));
  dirs.push(d);
  return d;
}

const unavailable = await probeNetns({ linkDelay: false }).then(() => null, (e: unknown) => e);
const netemUnavailable = unavailable ? unavailable : await probeNetns({ linkDelay: 'netem' }).then(() => null, (e: unknown) => e);
const delayMethod = unavailable ? null : await chooseLinkDelayMethod('auto').catch(() => null);

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

describe('chive testnet --netns', () => {
  it.skipIf(unavailable === null)('says precisely why namespaces cannot be used here', async () => {
    expect(isChiveError(unavailable, 'TESTNET_NETNS_UNAVAILABLE') || isChiveError(unavailable, 'TESTNET_NETNS_FAILED')).toBe(true);
    const error = await launchTestnet({ dir: tempDir(), authorities: 1, relays: 1, netns: {} }).then(() => null, (e: unknown) => e);
    expect((error as Error).message).toBe((unavailable as Error).message);
  });

  it.skipIf(unavailable !== null)('runs every node in its own namespace, one /16 per relay, and circuits cross them', async () => {
    const dir = tempDir();
    let net: Testnet | undefined;
    let echo: Server | undefined;
    let client: ChiveClient | undefined;
    try {
      net = await launchTestnet({ dir, authorities: 2, relays: 4, exits: 1, votingIntervalMs: 1000, stopGraceMs: 3000, netns: {} });
      const plan = net.netns!;
      expect(plan.linkDelayMs).toBe(0);
      const network = loadNetworkFile(net.networkFile);
      expect(network.authorities.map((a) => a.url)).toEqual(['http://10.0.1.1:7000', 'http://10.0.1.2:7000']);
      expect(net.relays.map((r) => r.url)).toEqual(['ws://10.1.0.1:9001', 'ws://10.2.0.1:9001', 'ws://10.3.0.1:9001', 'ws://10.4.0.1:9001']);
      const listed = new Map(net.consensus.relays.map((r) => [r.nickname, r.address]));
      for (const r of net.relays) expect(listed.get(r.nickname)).toBe(r.url);

      // Every node process in a namespace of its own, none in ours.
      const ours = readlinkSync('/proc/self/ns/net');
      const theirs = net.processes.map((p) => readlinkSync(`/proc/${p.pid}/ns/net`));
      expect(new Set(theirs).size).toBe(6);
      expect(theirs).not.toContain(ours);
      for (const ns of plan.namespaces.map((n) => n.name)) expect(namespaces()).toContain(ns);

      // The launcher is ready once an authority serves the consensus; a relay extends only to
      // relays of a consensus it fetched itself. Wait until every relay reports flags (it holds
      // a consensus listing itself), then two more periods, so each holds the full one.
      for (const r of net.relays) {
        for (let i = 0; i < 100; i++) {
          const status = await fetch(`${r.metricsUrl}/status.json`).then((res) => res.json() as Promise<{ status?: { flags?: string[] } }>).catch(() => null);
          if ((status?.status?.flags?.length ?? 0) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2 * network.timing.votingIntervalMs));

      // A client with the /16 rule on, from the host, to an echo server on the bridge address.
      echo = createServer((s) => {
        s.on('error', () => {});
        s.pipe(s);
      });
      await new Promise<void>((resolve) => echo!.listen(0, plan.hostAddress, resolve));
      const target = { host: plan.hostAddress, port: (echo.address() as { port: number }).port };
      client = new ChiveClient({ network, allowSameSubnet: false, preemptiveCircuits: 0 });
      await client.bootstrap();
      for (let i = 0; i < 3; i++) {
        const m = await measureCircuit(client, { target, pings: 3 });
        expect(m.perHopMs).toHaveLength(3);
        expect(m.rttSamplesMs).toHaveLength(3);
      }
      const circuit = await client.buildCircuit({ target });
      const slash16s = circuit.hops.map((h) => new URL(h.url).hostname.split('.').slice(0, 2).join('.'));
      expect(new Set(slash16s).size).toBe(3);
      circuit.destroy();
    } finally {
      await client?.close();
      echo?.close();
      await net?.stop();
    }
    const left = namespaces();
    for (const ns of net!.netns!.namespaces.map((n) => n.name)) expect(left).not.toContain(ns);
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(net!.netns!.bridge);
  }, 90_000);

  it.skipIf(unavailable !== null || netemUnavailable === null)('refuses --link-delay before starting anything when the kernel has no netem', async () => {
    expect(isChiveError(netemUnavailable, 'TESTNET_NETNS_UNAVAILABLE')).toBe(true);
    expect((netemUnavailable as Error).message).toContain('no netem queueing discipline');
    expect((netemUnavailable as Error).message).toContain('--link-delay-method nfqueue');
    const dir = tempDir();
    const before = namespaces();
    const error = await launchTestnet({ dir, authorities: 1, relays: 1, netns: { linkDelayMs: 50, linkDelayMethod: 'netem' } }).then(() => null, (e: unknown) => e);
    expect(isChiveError(error, 'TESTNET_NETNS_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('--link-delay cannot be applied');
    expect(namespaces()).toEqual(before);
  });

  it.skipIf(delayMethod === null)('with a 50 ms link delay, circuit build and round trips take what the delays predict (±20 %)', async () => {
    const D = 50;
    const dir = tempDir();
    let net: Testnet | undefined;
    let target: Awaited<ReturnType<typeof startBenchServer>> | undefined;
    try {
      net = await launchTestnet({ dir, authorities: 1, relays: 3, exits: 1, votingIntervalMs: 2000, stopGraceMs: 3000, netns: { linkDelayMs: D } });
      expect(net.netns!.linkDelayMethod).toBe(delayMethod);
      target = await startBenchServer({ host: net.netns!.hostAddress, port: 0 }); // on the host's bridge address
      // Asynchronously: the target is served by this very process.
      const { stdout: bench } = await execFileAsync('ip', [
        'netns', 'exec', net.netns!.clientNamespaces[0]!, process.execPath, CHIVE_BIN, 'bench', '--network', net.networkFile,
        '--target', `${net.netns!.hostAddress}:${target.port}`, '--warmup', '4', '--circuits', '7', '--rtt-samples', '9', '--rtt-circuits', '1',
        '--sizes', '50KiB', '--transfers', '1', '--timeout', '30000', '--json', '--quiet',
      ], { encoding: 'utf8', timeout: 120_000 });
      const r = JSON.parse(bench) as { circuitBuildMs: { p50: number }; perHopMs: { p50: number }[]; rttMs: { p50: number; n: number }; failures: number };
      const within = (measured: number, predicted: number, what: string): void => {
        expect(Math.abs(measured - predicted) / predicted, `${what}: measured ${measured} ms, predicted ${predicted} ms`).toBeLessThanOrEqual(0.2);
      };
      console.log(`netns, ${D} ms one way (${delayMethod}): build p50 ${r.circuitBuildMs.p50} ms (predicted ${12 * D}), `
        + `hops ${r.perHopMs.map((h) => h.p50).join(' / ')} (predicted ${2 * D} / ${4 * D} / ${6 * D}), RTT p50 ${r.rttMs.p50} ms (predicted ${7 * D})`);
      expect(r.failures).toBe(0);
      expect(r.rttMs.n).toBe(9);
      within(r.circuitBuildMs.p50, 12 * D, 'circuit build');
      r.perHopMs.forEach((h, i) => within(h.p50, 2 * (i + 1) * D, `hop ${i + 1}`));
      within(r.rttMs.p50, 7 * D, 'round trip');
    } finally {
      await target?.close();
      await net?.stop();
    }
  }, 150_000);
});
