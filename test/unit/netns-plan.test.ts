/**
 * The pure parts of `chive testnet --netns` (testnet/netns-plan.ts, testnet/netns.ts with
 * a fake command runner — no root needed):
 *   - the address plan: host 10.0.0.1, authorities 10.0.1.x, clients 10.0.2.x, relays one
 *     /16 each (or N per /16), a relay process's namespace holding its relays' addresses;
 *     every address and name unique, interface names within 15 characters;
 *   - the iproute2 / tc command lines, netem on every namespace's veth0 only with a delay;
 *   - limits (too many /16s, a bad tag) are INVALID_ARGUMENT;
 *   - failures explained: iproute2 missing, no privileges, no netem in the kernel, leftovers;
 *   - setUpNetns removes an earlier run's leftovers, refuses a host already in 10.0.0.0/8,
 *     tears down what it made when a command fails; probeNetns always deletes its namespace.
 */
import { describe, expect, it } from 'vitest';
import { isChiveError } from '../../src/errors.js';
import {
  NETNS_VETH, bridgeSetupCommands, namespaceSetupCommands, netnsExec, netnsRelayAddress, netnsTagFor, planNetns, setupCommands, teardownCommands,
} from '../../testnet/netns-plan.js';
import { type CommandResult, type CommandRunner, explainNetnsFailure, probeNetns, setUpNetns } from '../../testnet/netns.js';

const OK: CommandResult = { code: 0, stdout: '', stderr: '' };

/** A runner that records every command and answers from `answers` (first match on the joined command), else OK. */
function fakeRunner(answers: [RegExp, CommandResult][] = []): { run: CommandRunner; log: string[] } {
  const log: string[] = [];
  const run: CommandRunner = async (argv) => {
    const line = argv.join(' ');
    log.push(line);
    return answers.find(([re]) => re.test(line))?.[1] ?? OK;
  };
  return { run, log };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

describe('netns address plan', () => {
  it('gives the host, authorities, clients and relays their addresses, one /16 per relay', () => {
    const plan = planNetns({ tag: 'ab12', authorities: 3, relays: 5, relaysPerProcess: 1, clients: 2 });
    expect(plan.hostAddress).toBe('10.0.0.1');
    expect(plan.bridge).toBe('cvab12br');
    expect(plan.authorityAddresses).toEqual(['10.0.1.1', '10.0.1.2', '10.0.1.3']);
    expect(plan.clientAddresses).toEqual(['10.0.2.1', '10.0.2.2']);
    expect(plan.relayAddresses).toEqual(['10.1.0.1', '10.2.0.1', '10.3.0.1', '10.4.0.1', '10.5.0.1']);
    expect(new Set(plan.relayAddresses.map((a) => a.split('.').slice(0, 2).join('.'))).size).toBe(5);
    expect(plan.namespaces.map((n) => [n.name, n.role, n.hostVeth, n.addresses])).toEqual([
      ['chive-ab12-a0', 'authority', 'cvab12a0', ['10.0.1.1']], ['chive-ab12-a1', 'authority', 'cvab12a1', ['10.0.1.2']],
      ['chive-ab12-a2', 'authority', 'cvab12a2', ['10.0.1.3']],
      ['chive-ab12-r0', 'relays', 'cvab12r0', ['10.1.0.1']], ['chive-ab12-r1', 'relays', 'cvab12r1', ['10.2.0.1']],
      ['chive-ab12-r2', 'relays', 'cvab12r2', ['10.3.0.1']], ['chive-ab12-r3', 'relays', 'cvab12r3', ['10.4.0.1']],
      ['chive-ab12-r4', 'relays', 'cvab12r4', ['10.5.0.1']],
      ['chive-ab12-c0', 'client', 'cvab12c0', ['10.0.2.1']], ['chive-ab12-c1', 'client', 'cvab12c1', ['10.0.2.2']],
    ]);
    expect(plan.relayProcessNamespaces).toEqual(['chive-ab12-r0', 'chive-ab12-r1', 'chive-ab12-r2', 'chive-ab12-r3', 'chive-ab12-r4']);
    expect(netnsExec('chive-ab12-r0')).toEqual(['ip', 'netns', 'exec', 'chive-ab12-r0']);
  });

  it('puts N relays in a /16 when asked, and a group\'s relays in one namespace', () => {
    expect([0, 1, 2, 3, 299, 300].map((k) => netnsRelayAddress(k, 300))).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.1.44', '10.2.0.1']);
    const plan = planNetns({ tag: 'x', authorities: 1, relays: 5, relaysPerProcess: 2, relaysPerSlash16: 2 });
    expect(plan.relayAddresses).toEqual(['10.1.0.1', '10.1.0.2', '10.2.0.1', '10.2.0.2', '10.3.0.1']);
    expect(plan.namespaces.filter((n) => n.role === 'relays').map((n) => n.addresses)).toEqual([['10.1.0.1', '10.1.0.2'], ['10.2.0.1', '10.2.0.2'], ['10.3.0.1']]);
  });

  it('keeps every address and name unique and interface names within 15 characters at 200 relays', () => {
    const plan = planNetns({ tag: 'zzzz', authorities: 32, relays: 200, relaysPerProcess: 1, clients: 254 });
    const addresses = [plan.hostAddress, ...plan.authorityAddresses, ...plan.clientAddresses, ...plan.relayAddresses];
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(new Set(plan.namespaces.map((n) => n.name)).size).toBe(plan.namespaces.length);
    for (const name of [plan.bridge, ...plan.namespaces.map((n) => n.hostVeth), NETNS_VETH]) expect(name.length, name).toBeLessThanOrEqual(15);
    expect(plan.relayAddresses[199]).toBe('10.200.0.1');
  });

  it('refuses plans it cannot address', () => {
    for (const bad of [
      { tag: 'TOOLONG', authorities: 1, relays: 1, relaysPerProcess: 1 },
      { tag: 'A', authorities: 1, relays: 1, relaysPerProcess: 1 },
      { tag: 'a', authorities: 1, relays: 300, relaysPerProcess: 1 },
      { tag: 'a', authorities: 0, relays: 1, relaysPerProcess: 1 },
      { tag: 'a', authorities: 1, relays: 1, relaysPerProcess: 1, linkDelayMs: -5 },
    ]) {
      expect(isChiveError((() => { try { planNetns(bad); return null; } catch (e) { return e; } })(), 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true);
    }
    expect(planNetns({ tag: 'a', authorities: 1, relays: 300, relaysPerProcess: 1, relaysPerSlash16: 2 }).relayAddresses[299]).toBe('10.150.0.2');
  });

  it('derives a stable 4-character tag from the folder', () => {
    expect(netnsTagFor('/tmp/x')).toMatch(/^[0-9a-z]{4}$/);
    expect(netnsTagFor('/tmp/x')).toBe(netnsTagFor('/tmp/x'));
    expect(netnsTagFor('/tmp/x')).not.toBe(netnsTagFor('/tmp/y'));
  });
});

describe('netns command lines', () => {
  it('builds the bridge, then each namespace with its veth pair, addresses and (with a delay) netem', () => {
    const plan = planNetns({ tag: 't', authorities: 1, relays: 2, relaysPerProcess: 2, clients: 0, linkDelayMs: 50 });
    expect(setupCommands(plan).map((c) => c.join(' '))).toEqual([
      'ip link add cvtbr type bridge',
      'ip addr add 10.0.0.1/8 dev cvtbr',
      'ip link set cvtbr up',
      'ip netns add chive-t-a0',
      'ip link add cvta0 type veth peer name veth0 netns chive-t-a0',
      'ip link set cvta0 master cvtbr up',
      'ip -n chive-t-a0 link set lo up',
      'ip -n chive-t-a0 addr add 10.0.1.1/8 dev veth0',
      'ip -n chive-t-a0 link set veth0 up',
      'tc -n chive-t-a0 qdisc add dev veth0 root netem delay 50ms',
      'ip netns add chive-t-r0',
      'ip link add cvtr0 type veth peer name veth0 netns chive-t-r0',
      'ip link set cvtr0 master cvtbr up',
      'ip -n chive-t-r0 link set lo up',
      'ip -n chive-t-r0 addr add 10.1.0.1/8 dev veth0',
      'ip -n chive-t-r0 addr add 10.2.0.1/8 dev veth0',
      'ip -n chive-t-r0 link set veth0 up',
      'tc -n chive-t-r0 qdisc add dev veth0 root netem delay 50ms',
    ]);
    expect(teardownCommands(plan).map((c) => c.join(' '))).toEqual(['ip netns delete chive-t-a0', 'ip netns delete chive-t-r0', 'ip link delete cvtbr']);
    const noDelay = planNetns({ tag: 't', authorities: 1, relays: 2, relaysPerProcess: 1 });
    expect(setupCommands(noDelay).some((c) => c.includes('netem'))).toBe(false);
  });
});

describe('netns failures', () => {
  it('explains a missing iproute2, missing privileges and a kernel without netem', () => {
    const missing = explainNetnsFailure(['ip', 'netns', 'add', 'x'], { code: null, stdout: '', stderr: '', spawnError: 'ENOENT' });
    expect(missing.code).toBe('TESTNET_NETNS_UNAVAILABLE');
    expect(missing.message).toContain('apt-get install iproute2');
    const eperm = explainNetnsFailure(['ip', 'netns', 'add', 'x'], { code: 1, stdout: '', stderr: 'mount --make-shared /run/netns failed: Operation not permitted\n' });
    expect(eperm.code).toBe('TESTNET_NETNS_UNAVAILABLE');
    expect(eperm.message).toMatch(/needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN/);
    const netem = explainNetnsFailure(['tc', '-n', 'x', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { code: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n' });
    expect(netem.code).toBe('TESTNET_NETNS_UNAVAILABLE');
    expect(netem.message).toContain('no netem queueing discipline');
    expect(netem.message).toContain('modprobe sch_netem');
    const exists = explainNetnsFailure(['ip', 'netns', 'add', 'x'], { code: 1, stdout: '', stderr: 'Cannot create namespace file "/run/netns/x": File exists\n' });
    expect(exists.code).toBe('TESTNET_NETNS_FAILED');
    expect(exists.message).toContain('left behind');
    const other = explainNetnsFailure(['ip', 'link', 'set', 'y', 'up'], { code: 1, stdout: '', stderr: 'Cannot find device "y"\n' });
    expect(other.code).toBe('TESTNET_NETNS_FAILED');
    expect(other.message).toBe('`ip link set y up` failed (exit code 1): Cannot find device "y"');
  });

  it('probe: reports no netem as unavailable and still deletes its namespace', async () => {
    const { run, log } = fakeRunner([[/netem/, { code: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.' }]]);
    const error = await errorOf(probeNetns({ linkDelay: true, run, platformCheck: false }));
    expect(isChiveError(error, 'TESTNET_NETNS_UNAVAILABLE')).toBe(true);
    expect(log[0]).toMatch(/^ip netns add chive-probe-\d+$/);
    expect(log[log.length - 1]).toBe(log[0]!.replace('add', 'delete'));
    const plain = fakeRunner();
    await probeNetns({ linkDelay: false, run: plain.run, platformCheck: false });
    expect(plain.log.some((l) => l.includes('netem'))).toBe(false);
  });

  it('setup: clears its own leftovers only, refuses a host already in 10.0.0.0/8, undoes a half-made setup', async () => {
    const plan = planNetns({ tag: 'k', authorities: 1, relays: 1, relaysPerProcess: 1, clients: 0 });
    const leftovers = fakeRunner([[/^ip netns list$/, { code: 0, stdout: 'chive-k-r0 (id: 3)\nchive-other-a0\nchive-kk-a0 (id: 1)\n', stderr: '' }]]);
    await setUpNetns(plan, { run: leftovers.run, platformCheck: false });
    expect(leftovers.log.slice(0, 4)).toEqual(['ip netns list', 'ip netns delete chive-k-r0', 'ip link delete cvkbr', 'ip -4 -o addr show to 10.0.0.0/8']);
    // Namespaces are set up a few at a time: every command once, and each namespace's in order.
    const made = leftovers.log.slice(4);
    expect([...made].sort()).toEqual(setupCommands(plan).map((c) => c.join(' ')).sort());
    expect(made.slice(0, 3)).toEqual(bridgeSetupCommands(plan).map((c) => c.join(' ')));
    for (const ns of plan.namespaces) {
      const own = namespaceSetupCommands(plan, ns).map((c) => c.join(' '));
      expect(made.filter((l) => own.includes(l))).toEqual(own);
    }

    const busy = fakeRunner([[/addr show to/, { code: 0, stdout: '5: cvzzbr    inet 10.0.0.1/8 scope global cvzzbr\n', stderr: '' }]]);
    const error = await errorOf(setUpNetns(plan, { run: busy.run, platformCheck: false }));
    expect(isChiveError(error, 'TESTNET_NETNS_FAILED')).toBe(true);
    expect((error as Error).message).toContain('another netns testnet may be running');
    expect(busy.log.some((l) => l.startsWith('ip netns add'))).toBe(false);

    const failing = fakeRunner([[/addr add 10\.1\.0\.1/, { code: 2, stdout: '', stderr: 'RTNETLINK answers: Invalid argument' }]]);
    const failed = await errorOf(setUpNetns(plan, { run: failing.run, platformCheck: false }));
    expect(isChiveError(failed, 'TESTNET_NETNS_FAILED')).toBe(true);
    expect((failed as Error).message).toContain('RTNETLINK answers: Invalid argument');
    expect(failing.log.slice(-3)).toEqual(teardownCommands(plan).map((c) => c.join(' ')));
  });
});
