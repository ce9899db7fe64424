/**
 * The CI-sized scale check: `chive testnet --relays 20 --relays-per-process 5` as a real
 * command (node bin/chive.mjs, 3 authorities + 4 relay processes), kept well under 60 s:
 *   - the --json summary lists 20 relays hosted by 4 processes of 5 (relays0-4 …), each
 *     relay with its own identity, ws port, metrics port, data directory, key files and log;
 *   - a consensus fetched from every authority verifies and lists all 20 relays at their
 *     URLs (the command itself waited for one that does);
 *   - every relay's metrics endpoint answers with its own nickname;
 *   - SIGTERM stops all 7 processes and the command exits 0;
 *   - a relay of a group that cannot start (its ORPort taken) fails the whole group: the
 *     launcher says which relay and why (TESTNET_NODE_FAILED with the group's log tail) and
 *     leaves nothing running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { toHex } from '../../src/bytes.js';
import { checkConsensus, decodeConsensus } from '../../src/dirdoc/index.js';
import { fetchConsensusBytes } from '../../src/io/directory-client.js';
import { loadNetworkFile, pinnedIdentities } from '../../src/io/network-file.js';
import { CHIVE_BIN } from '../../testnet/node-process.js';
import { launchTestnet } from '../../testnet/launcher.js';
import { isChiveError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Summary {
  event: string;
  readyMs: number;
  networkFile: string;
  relaysPerProcess: number;
  authorities: { name: string; url: string; pid: number }[];
  relays: { nickname: string; url: string; identity: string; exit: boolean; pid: number; process: string; metricsUrl: string; dataDir: string; logFile: string }[];
  processes: { name: string; pid: number; role: string; members: string[] }[];
}

describe('chive testnet --relays 20 --relays-per-process 5', () => {
  it('lists every relay in the consensus, 5 relays to a process, each with its own keys, ports and folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chive-scale-'));
    dirs.push(dir);
    const started = Date.now();
    const child = spawn(process.execPath, [
      CHIVE_BIN, 'testnet', '--dir', dir, '--relays', '20', '--relays-per-process', '5', '--voting-interval', '2s', '--json',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let summary: Summary | null = null;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        void exited.then((code) => reject(new Error(`exited ${code} before the summary:\n${stderr}`)));
      });
      summary = JSON.parse(line) as Summary;
      console.log(`20 relays in 4 processes ready in ${Date.now() - started} ms (the launcher says ${summary.readyMs} ms)`);

      expect(summary.event).toBe('ready');
      expect(summary.relaysPerProcess).toBe(5);
      expect(summary.relays).toHaveLength(20);
      expect(summary.processes.map((p) => [p.name, p.role, p.members.length])).toEqual([
        ['auth0', 'authority', 1], ['auth1', 'authority', 1], ['auth2', 'authority', 1],
        ['relays0-4', 'relay', 5], ['relays5-9', 'relay', 5], ['relays10-14', 'relay', 5], ['relays15-19', 'relay', 5],
      ]);
      expect(new Set(summary.relays.map((r) => r.pid)).size).toBe(4);
      expect(new Set(summary.processes.map((p) => p.pid)).size).toBe(7);
      for (const [i, r] of summary.relays.entries()) {
        expect(r.nickname).toBe(`relay${i}`);
        expect(r.process).toBe(`relays${i - (i % 5)}-${i - (i % 5) + 4}`);
        expect(r.exit).toBe(i < 2);
        expect(r.dataDir).toBe(join(dir, r.nickname));
        expect(existsSync(join(r.dataDir, 'keys'))).toBe(true);
        expect(statSync(r.logFile).size).toBeGreaterThan(0);
      }
      // Each relay its own identity, ws port and metrics port.
      for (const key of ['identity', 'url', 'metricsUrl'] as const) expect(new Set(summary.relays.map((r) => r[key])).size, key).toBe(20);

      // Every authority serves a checked consensus listing all 20 at their URLs (or will within a period).
      const network = loadNetworkFile(summary.networkFile);
      const provider = loadCryptoProvider('auto');
      for (const a of summary.authorities) {
        let listed = 0;
        for (let attempt = 0; attempt < 20 && listed < 20; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, 250));
          const consensus = checkConsensus(provider, decodeConsensus(await fetchConsensusBytes(a.url, { timeoutMs: 5000 })), pinnedIdentities(network), Date.now());
          const byIdentity = new Map(consensus.relays.map((r) => [toHex(r.identity), r.address]));
          listed = summary.relays.filter((r) => byIdentity.get(r.identity) === r.url).length;
        }
        expect(listed, `relays listed by ${a.name}`).toBe(20);
      }

      for (const r of summary.relays) {
        const res = await fetch(`${r.metricsUrl}/metrics`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain(`nickname="${r.nickname}"`);
      }
      for (const p of summary.processes) expect(isAlive(p.pid), p.name).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopped 23 nodes');
    for (const p of summary!.processes) expect(isAlive(p.pid), p.name).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('fails the whole group when one of its relays cannot start, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chive-scale-'));
    dirs.push(dir);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const blocked = (blocker.address() as { port: number }).port;
    try {
      // --base-port: auth0 at base, relay ORPorts at base+1.. — relay1's is the blocked port.
      const error = await launchTestnet({ dir, authorities: 1, relays: 3, relaysPerProcess: 3, basePort: blocked - 2 }).then(() => null, (e: unknown) => e);
      expect(isChiveError(error, 'TESTNET_NODE_FAILED')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('relays0-2');
      expect(message).toContain(join(dir, 'relays0-2.log'));
      expect(message).toContain('relay1');
      expect(message).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
