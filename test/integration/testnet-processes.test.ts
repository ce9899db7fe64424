/**
 * `chive testnet` with real OS processes (node bin/chive.mjs directory / relay):
 *   - launchTestnet: 3 authorities + 4 relays (1 exit) with a 1 s voting interval become
 *     ready; network.json pins the 3 authorities; a consensus fetched from another
 *     authority verifies (both providers) and lists all 4 relays at their URLs, the Exit
 *     flag on the exit only; the metrics endpoints answer; a relay killed from outside is
 *     reported (onNodeExit, deadNodes); stop() leaves no process behind;
 *   - failures: an unusable folder (TESTNET_DIR_UNUSABLE) and an authority that cannot
 *     listen (TESTNET_NODE_FAILED with its log tail; nothing left running);
 *   - the command: --help documents every flag; bad usage exits 2; a --json run prints one
 *     JSON summary and stops every node on SIGTERM with exit code 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { toHex } from '../../src/bytes.js';
import { checkConsensus, decodeConsensus } from '../../src/dirdoc/index.js';
import { fetchConsensusBytes } from '../../src/io/directory-client.js';
import { loadNetworkFile, pinnedIdentities } from '../../src/io/network-file.js';
import { RelayFlag } from '../../src/wire/constants.js';
import { isChiveError } from '../../src/errors.js';
import { type Testnet, launchTestnet } from '../../testnet/launcher.js';
import { CHIVE_BIN } from '../../testnet/node-process.js';
import { runTestnetCommand } from '../../testnet/command.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chive-testnet-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('launchTestnet (one process per node)', () => {
  it('starts 3 authorities and 4 relays, publishes a consensus listing them all, reports a dead node, stops every process', async () => {
    const dir = tempDir();
    const progress: string[] = [];
    const deaths: { name: string; message: string }[] = [];
    const started = Date.now();
    let net: Testnet | undefined;
    try {
      net = await launchTestnet({
        dir, authorities: 3, relays: 4, exits: 1, votingIntervalMs: 1000, stopGraceMs: 3000,
        onProgress: (line) => progress.push(line),
        onNodeExit: (name, _exit, message) => deaths.push({ name, message }),
      });
      const readyMs = Date.now() - started;
      console.log(`testnet (3 authorities, 4 relays) ready in ${readyMs} ms (launcher says ${net.readyMs} ms)`);

      expect(progress).toContain('starting authorities… 3/3');
      expect(progress).toContain('starting relays… 4/4');
      expect(progress.some((l) => l.startsWith('waiting for the first consensus'))).toBe(true);

      // The network file: 3 pinned authorities, as the launcher reports them.
      expect(net.networkFile).toBe(join(dir, 'network.json'));
      expect(existsSync(net.networkFile)).toBe(true);
      const network = loadNetworkFile(net.networkFile);
      expect(network.testnet).toBe(true);
      expect(network.timing.votingIntervalMs).toBe(1000);
      expect(network.authorities.map((a) => a.name)).toEqual(['auth0', 'auth1', 'auth2']);
      expect(network.authorities.map((a) => a.url)).toEqual(net.authorities.map((a) => a.url));
      expect(network.authorities.map((a) => toHex(a.identity))).toEqual(net.authorities.map((a) => a.identity));
      for (const node of [...net.authorities, ...net.relays]) {
        expect(existsSync(node.logFile)).toBe(true);
        expect(node.logFile).toBe(join(dir, node.dataDir.split('/').pop()!, 'log'));
        expect(isAlive(node.pid)).toBe(true);
      }

      // A consensus fetched from an authority other than the one the launcher used.
      const other = net.authorities.find((a) => a.name !== net!.consensusFrom)!;
      const bytes = await fetchConsensusBytes(other.url, { timeoutMs: 5000 });
      for (const provider of allCryptoProviders()) {
        const consensus = checkConsensus(provider, decodeConsensus(bytes), pinnedIdentities(network), Date.now());
        expect(consensus.signatures.length).toBeGreaterThanOrEqual(2);
        expect(consensus.relays).toHaveLength(4);
        for (const relay of net.relays) {
          const listed = consensus.relays.find((r) => toHex(r.identity) === relay.identity);
          expect(listed, relay.nickname).toBeDefined();
          expect(listed!.address).toBe(relay.url);
          expect(listed!.nickname).toBe(relay.nickname);
          expect((listed!.flags & RelayFlag.RUNNING) !== 0).toBe(true);
          expect((listed!.flags & RelayFlag.EXIT) !== 0, `${relay.nickname} Exit flag`).toBe(relay.exit);
        }
      }
      expect(net.relays.map((r) => r.exit)).toEqual([true, false, false, false]);
      expect(net.relays[0]!.flags).toContain('EXIT');
      expect(net.relays[1]!.flags).not.toContain('EXIT');

      // Every relay serves its metrics on the port it was given.
      for (const relay of net.relays) {
        expect(relay.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const res = await fetch(`${relay.metricsUrl}/metrics`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain(relay.nickname);
      }

      // A relay killed from outside is reported with its log.
      const victim = net.relays[3]!;
      process.kill(victim.pid, 'SIGKILL');
      await until('the death report', () => deaths.length > 0);
      expect(deaths[0]!.name).toBe('relay3');
      expect(deaths[0]!.message).toContain('SIGKILL');
      expect(deaths[0]!.message).toContain(victim.logFile);
      expect(net.deadNodes).toEqual(['relay3']);
    } finally {
      await net?.stop();
    }
    for (const node of [...net!.authorities, ...net!.relays]) expect(isAlive(node.pid), node.dataDir).toBe(false);
    expect(deaths).toHaveLength(1); // stop() is not reported as a death
    await net!.stop(); // idempotent
  }, 120_000);

  it('refuses a folder it cannot create (TESTNET_DIR_UNUSABLE)', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a folder');
    const error = await launchTestnet({ dir: join(file, 'net'), authorities: 1, relays: 1 }).then(() => null, (e: unknown) => e);
    expect(isChiveError(error, 'TESTNET_DIR_UNUSABLE')).toBe(true);
    expect((error as Error).message).toContain(join(file, 'net'));
  });

  it('refuses bad counts before starting anything', async () => {
    const dir = tempDir();
    for (const bad of [{ authorities: 0 }, { relays: 0 }, { relays: 2, exits: 3 }, { votingIntervalMs: 10 }]) {
      const error = await launchTestnet({ dir, ...bad }).then(() => null, (e: unknown) => e);
      expect(isChiveError(error, 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true);
    }
    expect(existsSync(join(dir, 'network.json'))).toBe(false);
  });

  it('reports an authority that cannot listen with its log tail, and leaves nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (blocker.address() as AddressInfo).port;
    const dir = tempDir();
    try {
      const error = await launchTestnet({ dir, authorities: 1, relays: 1, basePort: port }).then(() => null, (e: unknown) => e);
      expect(isChiveError(error, 'TESTNET_NODE_FAILED')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('auth0');
      expect(message).toContain(join(dir, 'auth0', 'log'));
      expect(message).toMatch(/EADDRINUSE|in use|LISTEN/i);
    } finally {
      blocker.close();
    }
    // Only the authority had started: it is gone, and no relay folder has a log.
    expect(existsSync(join(dir, 'relay0', 'log'))).toBe(false);
  }, 60_000);
});

describe('chive testnet (the command)', () => {
  it('--help documents every flag', () => {
    const r = spawnSync(process.execPath, [CHIVE_BIN, 'testnet', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    for (const flag of ['--dir', '--authorities', '--relays', '--exits', '--voting-interval', '--base-port', '--ready-timeout', '--stop-grace', '--json']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('network.json');
  });

  it('exits 2 on bad usage', async () => {
    const r = spawnSync(process.execPath, [CHIVE_BIN, 'testnet', '--dir', '/tmp/x', '--relays', '2', '--exits', '3'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--exits 3 is more than --relays 2');
    for (const args of [[], ['--dir', '/tmp/x', '--voting-interval', 'soon'], ['--dir', '/tmp/x', '--voting-interval', '100ms'], ['--dir', '/tmp/x', '--authorities', '0']]) {
      expect(await runTestnetCommand(args), args.join(' ')).toBe(2);
    }
  });

  it('--json prints one summary object, then SIGTERM stops every node and exits 0', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [CHIVE_BIN, 'testnet', '--dir', dir, '--authorities', '1', '--relays', '1', '--exits', '1', '--voting-interval', '1s', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`exited ${code} before the summary:\n${stderr}`)));
    });
    const summary = JSON.parse(firstLine) as {
      event: string; networkFile: string; readyMs: number;
      authorities: { name: string; url: string; identity: string; pid: number }[];
      relays: { nickname: string; url: string; identity: string; exit: boolean; flags: string[]; metricsUrl: string; pid: number }[];
    };
    expect(summary.event).toBe('ready');
    expect(summary.networkFile).toBe(join(dir, 'network.json'));
    expect(summary.authorities).toHaveLength(1);
    expect(summary.relays).toHaveLength(1);
    expect(summary.relays[0]).toMatchObject({ nickname: 'relay0', exit: true });
    expect(summary.relays[0]!.flags).toContain('EXIT');
    expect(stderr).toContain('starting relays… 1/1');
    const pids = [...summary.authorities, ...summary.relays].map((n) => n.pid);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopped 2 nodes');
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 90_000);
});
