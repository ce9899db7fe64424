/**
 * The resource sampler on a real testnet's processes (1 authority, and 2 relays sharing
 * one process): every 100 ms for ~1.5 s it reads each process's RSS, CPU time and open
 * file descriptors from /proc;
 *   - each process has a sample each round, with the launcher's name, pid, role and members;
 *   - RSS is a Node.js process's (tens of MB), and matches /proc/<pid>/statm's resident pages;
 *   - CPU time never goes backwards; the relays' listening sockets show as open descriptors
 *     (more than a bare node has);
 *   - an idle network passes the growth judgement over the run (50 % allowed: 1.5 s is
 *     about start-up noise, not leaks), and is judged per process;
 *   - a process killed from outside drops out of the rounds and is listed in `gone`.
 * Linux only (/proc); skipped elsewhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { type Testnet, launchTestnet } from '../../testnet/launcher.js';
import { ResourceSampler, detectUnboundedGrowth } from '../../testnet/resource-sampler.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(process.platform !== 'linux')('ResourceSampler on a testnet', () => {
  it('samples RSS, CPU time and open handles of every node process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chive-sampler-'));
    dirs.push(dir);
    let net: Testnet | undefined;
    try {
      net = await launchTestnet({ dir, authorities: 1, relays: 2, exits: 0, relaysPerProcess: 2, votingIntervalMs: 1000, stopGraceMs: 3000 });
      expect(net.processes.map((p) => [p.name, p.role, p.members])).toEqual([['auth0', 'authority', ['auth0']], ['relays0-1', 'relay', ['relay0', 'relay1']]]);
      const rounds: number[] = [];
      const sampler = new ResourceSampler({ targets: net.processes, intervalMs: 100, onRound: (r) => rounds.push(r.length) });
      sampler.start();
      sampler.start(); // idempotent
      await sleep(1500);
      sampler.stop();
      const samples = sampler.samples();
      expect(rounds.length).toBeGreaterThanOrEqual(8);
      expect(rounds.every((n) => n === 2)).toBe(true);
      expect(sampler.gone).toEqual([]);

      const pageSize = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
      for (const p of net.processes) {
        const own = samples.filter((s) => s.name === p.name);
        expect(own.length, p.name).toBe(rounds.length);
        for (const s of own) {
          expect(s.pid).toBe(p.pid);
          expect(s.role).toBe(p.role);
          expect(s.members).toEqual(p.members);
          expect(s.rssBytes).toBeGreaterThan(20 * 1024 * 1024);
          expect(s.rssBytes).toBeLessThan(2 * 1024 ** 3);
        }
        for (let i = 1; i < own.length; i++) expect(own[i]!.cpuMs).toBeGreaterThanOrEqual(own[i - 1]!.cpuMs);
        expect(own[own.length - 1]!.cpuMs).toBeGreaterThan(100); // node + tsx start-up alone costs more
        // VmRSS and statm's resident pages describe the same memory (read a moment apart).
        const residentPages = Number(readFileSync(`/proc/${p.pid}/statm`, 'utf8').split(' ')[1]);
        const last = own[own.length - 1]!.rssBytes;
        expect(Math.abs(residentPages * pageSize - last) / last).toBeLessThan(0.2);
      }
      // Two relays listen on 2 ORPorts and 2 metrics ports, keep links to the authority, logs…
      const relayFds = samples.filter((s) => s.role === 'relay').map((s) => s.openFds);
      expect(Math.min(...relayFds)).toBeGreaterThan(20);

      const verdict = detectUnboundedGrowth(samples, { warmupMs: 0, maxGrowth: 0.5, windowMs: 300 });
      expect(verdict.series.map((s) => s.name).sort()).toEqual(['auth0', 'relays0-1']);
      expect(verdict.series.every((s) => s.status !== 'insufficient')).toBe(true);
      expect(verdict.ok, verdict.problems.join('\n')).toBe(true);

      // A process killed from outside drops out.
      const group = net.processes[1]!;
      process.kill(group.pid, 'SIGKILL');
      for (let i = 0; i < 50 && sampler.sampleOnce().length !== 1; i++) await sleep(20);
      expect(sampler.gone).toEqual(['relays0-1']);
      expect(sampler.latest().map((s) => s.name).sort()).toEqual(['auth0', 'relays0-1']);
      expect(sampler.samples().slice(-1)[0]!.name).toBe('auth0');
    } finally {
      await net?.stop();
    }
  }, 60_000);
});
