/**
 * The pure parts of `chive testnet --relays-per-process` (testnet/node-plan.ts,
 * relay-group.ts, launcher.ts autoRelaysPerProcess, ports.ts):
 *   - relays are grouped consecutively; one relay per process keeps the `chive relay`
 *     command line; a group runs `chive testnet run-relays <JSON>` whose JSON holds exactly
 *     each member's `chive relay` flags (own data directory, ORPort, metrics port, log);
 *   - exits are the first N relays in either layout; wrappers (ip netns exec) are applied;
 *   - the authorities' command lines; the 'auto' grouping;
 *   - run-relays refuses a bad argument (exit 2) before starting anything;
 *   - free ports are distinct and lie below the kernel's ephemeral range.
 */
import { describe, expect, it } from 'vitest';
import { AUTO_MAX_RELAY_PROCESSES, autoRelaysPerProcess } from '../../testnet/launcher.js';
import { type NodePlanInput, groupRelays, planAuthorityProcesses, planRelayProcesses, relayArgs } from '../../testnet/node-plan.js';
import { MAX_RELAYS_PER_PROCESS, parseRelayGroupArgument, runRelayGroupCommand } from '../../testnet/relay-group.js';
import { ephemeralPortRange, freePorts } from '../../testnet/ports.js';

function input(relays: number, relaysPerProcess: number, extra: Partial<NodePlanInput> = {}): NodePlanInput {
  return {
    dir: '/t', networkFile: '/t/network.json',
    authorities: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }],
    relays: Array.from({ length: relays }, (_, i) => ({ host: '127.0.0.1', orPort: 20_000 + i, metricsPort: 21_000 + i })),
    exits: 2, exitPolicy: ['accept 127.0.0.1/32:*'], relaysPerProcess, ...extra,
  };
}

describe('node plan', () => {
  it('groups relays consecutively', () => {
    expect(groupRelays(10, 4)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(groupRelays(3, 1)).toEqual([[0], [1], [2]]);
    expect(groupRelays(5, 5)).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('gives each relay its own folder, ports and log, and exit policy to the first exits only', () => {
    expect(relayArgs(input(3, 1), 0)).toEqual([
      '--DataDirectory', '/t/relay0', '--Nickname', 'relay0', '--Address', '127.0.0.1', '--ORPort', '20000',
      '--Network', '/t/network.json', '--Testnet', '1', '--LogFile', '/t/relay0/log', '--MetricsPort', '21000',
      '--ExitPolicy', 'accept 127.0.0.1/32:*',
    ]);
    expect(relayArgs(input(3, 1), 2)).not.toContain('--ExitPolicy');
    const withMetricsHost = input(1, 1, { relays: [{ host: '10.1.0.1', orPort: 9001, metricsPort: 9035, metricsHost: '10.1.0.1' }], exitPolicy: ['a', 'b'], relayFlags: ['--CreateRate', '0'] });
    expect(relayArgs(withMetricsHost, 0).slice(-10)).toEqual(['--MetricsPort', '9035', '--MetricsAddress', '10.1.0.1', '--ExitPolicy', 'a', '--ExitPolicy', 'b', '--CreateRate', '0']);
  });

  it('keeps one `chive relay` process per relay at 1 per process', () => {
    const specs = planRelayProcesses(input(3, 1));
    expect(specs.map((s) => [s.name, s.members, s.logFile, s.wrapper])).toEqual([
      ['relay0', ['relay0'], '/t/relay0/log', []], ['relay1', ['relay1'], '/t/relay1/log', []], ['relay2', ['relay2'], '/t/relay2/log', []],
    ]);
    expect(specs[1]!.args).toEqual(['relay', ...relayArgs(input(3, 1), 1)]);
  });

  it('runs a group as `chive testnet run-relays` with each member\'s own relay flags', () => {
    const plan = input(7, 3, { relayProcessWrapper: (g, members) => ['ip', 'netns', 'exec', `ns${g}-${members.length}`] });
    const specs = planRelayProcesses(plan);
    expect(specs.map((s) => [s.name, s.members, s.logFile, s.wrapper])).toEqual([
      ['relays0-2', ['relay0', 'relay1', 'relay2'], '/t/relays0-2.log', ['ip', 'netns', 'exec', 'ns0-3']],
      ['relays3-5', ['relay3', 'relay4', 'relay5'], '/t/relays3-5.log', ['ip', 'netns', 'exec', 'ns1-3']],
      ['relays6-6', ['relay6'], '/t/relays6-6.log', ['ip', 'netns', 'exec', 'ns2-1']],
    ]);
    for (const [g, spec] of specs.entries()) {
      expect(spec.args.slice(0, 2)).toEqual(['testnet', 'run-relays']);
      expect(spec.args).toHaveLength(3);
      const members = parseRelayGroupArgument(spec.args[2]);
      expect(members).toEqual(groupRelays(7, 3)[g]!.map((i) => relayArgs(plan, i)));
    }
    const all = specs.flatMap((s) => parseRelayGroupArgument(s.args[2]));
    expect(all.filter((argv) => argv.includes('--ExitPolicy'))).toHaveLength(2);
  });

  it('starts each authority with its folder, port, host and the network file', () => {
    const specs = planAuthorityProcesses(input(1, 1, { authorityWrapper: (i) => [`w${i}`] }));
    expect(specs.map((s) => [s.name, s.args, s.logFile, s.wrapper, s.role])).toEqual([
      ['auth0', ['directory', '--data-dir', '/t/auth0', '--port', '7000', '--host', '127.0.0.1', '--network', '/t/network.json'], '/t/auth0/log', ['w0'], 'authority'],
      ['auth1', ['directory', '--data-dir', '/t/auth1', '--port', '7001', '--host', '127.0.0.1', '--network', '/t/network.json'], '/t/auth1/log', ['w1'], 'authority'],
    ]);
  });

  it("'auto' keeps one process per relay for small networks and with netns, else at most 8 relay processes", () => {
    expect(AUTO_MAX_RELAY_PROCESSES).toBe(8);
    expect([1, 6, 8].map((n) => autoRelaysPerProcess(n, false))).toEqual([1, 1, 1]);
    expect([9, 20, 100, 200].map((n) => autoRelaysPerProcess(n, false))).toEqual([2, 3, 13, 25]);
    for (const n of [9, 20, 100, 200]) expect(Math.ceil(n / autoRelaysPerProcess(n, false))).toBeLessThanOrEqual(8);
    expect(autoRelaysPerProcess(100, true)).toBe(1);
  });
});

describe('chive testnet run-relays', () => {
  it('parses only a non-empty array of string arrays', () => {
    expect(parseRelayGroupArgument('[["--Nickname","a"],[]]')).toEqual([['--Nickname', 'a'], []]);
    for (const bad of [undefined, '', 'nope', '{}', '[]', '[1]', '[["a", 2]]', JSON.stringify(Array.from({ length: MAX_RELAYS_PER_PROCESS + 1 }, () => []))]) {
      expect(() => parseRelayGroupArgument(bad), String(bad)).toThrow(/run-relays/);
    }
  });

  it('exits 2 on bad usage before starting any relay', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await runRelayGroupCommand([])).toBe(2);
      expect(await runRelayGroupCommand(['[["--NoSuchKey", "1"]]'])).toBe(2);
      expect(await runRelayGroupCommand(['[["--ORPort", "not-a-port"]]'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toContain('exactly one argument');
    expect(written.join('')).toContain('--NoSuchKey');
    expect(written.join('')).toMatch(/ORPort/);
  });
});

describe('free ports', () => {
  it('are distinct and, on Linux, below the ephemeral range', async () => {
    const ports = await freePorts(50);
    expect(new Set(ports).size).toBe(50);
    const [low] = ephemeralPortRange();
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(1024);
      if (process.platform === 'linux') expect(p).toBeLessThan(low);
    }
  });
});
