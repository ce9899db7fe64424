/**
 * The chat UI's slash-command parser (client/ui/commands.ts) and the resolution of a
 * command's optional target (client/ui/targets.ts): every command, its aliases, usage
 * errors, unknown commands with suggestions, plain messages; targets by address, list
 * number, name, prefix; /retry's default. Pure: plain values, no terminal, no network.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, findCommand, parseInput, suggestCommands } from '../../client/ui/commands.js';
import { reduce } from '../../client/ui/reducer.js';
import { SAMPLE_ALICE, SAMPLE_BOB, SAMPLE_CAROL, sampleState } from '../../client/ui/sample-state.js';
import {
  resolveContactOrCurrent, resolveMessageTarget, resolveRequest, resolveRetry, resolveTarget,
} from '../../client/ui/targets.js';

const ADDR = 'chive1qv9x5lrm2c8d7k4wz3hjt6ny0ga5es8pufk2r7mxd4c9lq3vh8wtz6j';

describe('parseInput: each command', () => {
  it.each([
    [`/add ${ADDR}`, { kind: 'add', address: ADDR }],
    [`/add ${ADDR} Alice`, { kind: 'add', address: ADDR, name: 'Alice' }],
    [`/add ${ADDR}   Alice   Smith `, { kind: 'add', address: ADDR, name: 'Alice Smith' }],
    ['/accept', { kind: 'accept' }],
    [`/accept ${ADDR}`, { kind: 'accept', target: ADDR }],
    ['/reject', { kind: 'reject' }],
    ['/reject carol', { kind: 'reject', target: 'carol' }],
    ['/block', { kind: 'block' }],
    ['/block 3', { kind: 'block', target: '3' }],
    ['/nick Alice Smith', { kind: 'nick', name: 'Alice Smith' }],
    ['/rename al', { kind: 'nick', name: 'al' }],
    ['/address', { kind: 'address' }],
    ['/whoami', { kind: 'address' }],
    ['/circuit', { kind: 'circuit' }],
    ['/circuits', { kind: 'circuit' }],
    ['/newcircuit', { kind: 'newcircuit' }],
    ['/retry', { kind: 'retry' }],
    ['/retry m-0002', { kind: 'retry', id: 'm-0002' }],
    ['/help', { kind: 'help' }],
    ['/help add', { kind: 'help', topic: 'add' }],
    ['/?', { kind: 'help' }],
    ['/h', { kind: 'help' }],
    ['/quit', { kind: 'quit' }],
    ['/q', { kind: 'quit' }],
    ['/exit', { kind: 'quit' }],
    ['/QUIT', { kind: 'quit' }],
    ['  /quit', { kind: 'message', text: '/quit' }],
  ])('%s', (line, expected) => {
    expect(parseInput(line)).toEqual(expected);
  });

  it('every command in the table parses from its own name', () => {
    for (const spec of COMMANDS) {
      const args = spec.args[0] === 0 ? '' : spec.name === 'add' ? ` ${ADDR}` : ' x';
      expect(parseInput(`/${spec.name}${args}`).kind).toBe(spec.name);
      for (const alias of spec.aliases) expect(findCommand(alias)?.name).toBe(spec.name);
    }
  });
});

describe('parseInput: messages and blanks', () => {
  it('a line without a slash is a message, trimmed', () => {
    expect(parseInput('  hello there  ')).toEqual({ kind: 'message', text: 'hello there' });
  });
  it('// sends a message starting with a slash', () => {
    expect(parseInput('//shrug')).toEqual({ kind: 'message', text: '/shrug' });
  });
  it('a blank line is empty', () => {
    expect(parseInput('')).toEqual({ kind: 'empty' });
    expect(parseInput('   ')).toEqual({ kind: 'empty' });
  });
  it('never throws, and a line not starting with / is always its trimmed self', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const parsed = parseInput(s);
        if (s.trim() === '') expect(parsed.kind).toBe('empty');
        else if (!s.startsWith('/')) expect(parsed).toEqual({ kind: 'message', text: s.trim() });
        else expect(parsed.kind).not.toBe('empty');
      }),
    );
  });
});

describe('parseInput: helpful errors', () => {
  const invalid = (line: string): string => {
    const parsed = parseInput(line);
    expect(parsed.kind).toBe('invalid');
    return parsed.kind === 'invalid' ? parsed.message : '';
  };
  it('unknown command: names it, suggests, points at /help', () => {
    const m = invalid('/frobnicate');
    expect(m).toContain('unknown command /frobnicate');
    expect(m).toContain('/help');
  });
  it('a prefix suggests the command it starts', () => {
    expect(invalid('/ad')).toContain('Did you mean /add or /address?');
    expect(invalid('/newc')).toContain('/newcircuit');
  });
  it('a typo suggests the command within two edits', () => {
    expect(invalid('/acept')).toContain('/accept');
    expect(suggestCommands('blok')).toEqual(['block']);
    expect(suggestCommands('zzzzzz')).toEqual([]);
  });
  it('missing or extra arguments show the usage', () => {
    expect(invalid('/add')).toContain('usage: /add <address> [name]');
    expect(invalid('/nick')).toContain('usage: /nick <name>');
    expect(invalid('/address now')).toContain('usage: /address');
    expect(invalid('/quit now')).toContain('usage: /quit');
    expect(invalid('/retry a b')).toContain('usage: /retry [id]');
  });
  it('/add refuses something that is not a chive address', () => {
    expect(invalid('/add bob')).toMatch(/not a chive address .*chive1/);
  });
  it('a lone slash says what is missing', () => {
    expect(invalid('/')).toContain('command name is missing');
  });
});

describe('targets', () => {
  const sample = sampleState();

  it('an explicit target: address, list number, name, unique prefix; unknown chive1 passes to the client', () => {
    expect(resolveTarget(sample, SAMPLE_BOB)).toEqual({ ok: true, value: SAMPLE_BOB });
    expect(resolveTarget(sample, SAMPLE_BOB.toUpperCase())).toEqual({ ok: true, value: SAMPLE_BOB });
    expect(resolveTarget(sample, '2')).toEqual({ ok: true, value: SAMPLE_BOB });
    expect(resolveTarget(sample, '3')).toEqual({ ok: true, value: SAMPLE_CAROL });
    expect(resolveTarget(sample, 'ALICE')).toEqual({ ok: true, value: SAMPLE_ALICE });
    expect(resolveTarget(sample, SAMPLE_CAROL.slice(0, 10))).toEqual({ ok: true, value: SAMPLE_CAROL });
    expect(resolveTarget(sample, 'chive1unknown')).toEqual({ ok: true, value: 'chive1unknown' });
    expect(resolveTarget(sample, '9')).toEqual({ ok: false, message: 'no conversation 9 in the list' });
    expect(resolveTarget(sample, 'dave')).toEqual({ ok: false, message: 'no contact matches "dave"' });
  });

  it('two contacts of one name are ambiguous', () => {
    const twice = reduce(sample, {
      type: 'contact-changed',
      select: false,
      contact: { ...sample.contacts[1]!, name: 'alice' },
    });
    expect(resolveTarget(twice, 'alice')).toEqual({ ok: false, message: '2 contacts are called "alice": use the address' });
  });

  it('/accept and /reject default to the request on screen, else the oldest', () => {
    expect(sample.current).toBe(SAMPLE_ALICE);
    expect(resolveRequest(sample, undefined)).toEqual({ ok: true, value: SAMPLE_CAROL });
    const onCarol = reduce(sample, { type: 'select', address: SAMPLE_CAROL });
    expect(resolveRequest(onCarol, undefined)).toEqual({ ok: true, value: SAMPLE_CAROL });
    const accepted = reduce(sample, {
      type: 'contact-changed',
      select: false,
      contact: { ...sample.contacts.find((c) => c.address === SAMPLE_CAROL)!, state: 'accepted' },
    });
    expect(resolveRequest(accepted, undefined)).toEqual({ ok: false, message: 'there is no pending contact request' });
  });

  it('/block and /nick default to the conversation on screen', () => {
    expect(resolveContactOrCurrent(sample, undefined)).toEqual({ ok: true, value: SAMPLE_ALICE });
    const none = { ...sample, current: undefined };
    const r = resolveContactOrCurrent(none, undefined);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain('/add <address> [name]');
  });

  it('messages go to the conversation on screen, not to a request or a blocked contact', () => {
    expect(resolveMessageTarget(sample)).toEqual({ ok: true, value: SAMPLE_ALICE });
    const onCarol = reduce(sample, { type: 'select', address: SAMPLE_CAROL });
    expect(resolveMessageTarget(onCarol)).toEqual({ ok: false, message: 'carol asked to chat: /accept first (or /reject)' });
    const blocked = reduce(sample, {
      type: 'contact-changed',
      select: false,
      contact: { ...sample.contacts[0]!, state: 'blocked' },
    });
    expect(resolveMessageTarget(blocked)).toEqual({ ok: false, message: 'alice is blocked' });
  });

  it('/retry: the last failed message here by default, or an id / unique prefix', () => {
    expect(resolveRetry(sample, undefined)).toEqual({ ok: true, value: 'm-0002-photo' });
    expect(resolveRetry(sample, 'm-0002')).toEqual({ ok: true, value: 'm-0002-photo' });
    expect(resolveRetry(sample, 'm-0001')).toEqual({ ok: false, message: 'that message is delivered, not failed: nothing to retry' });
    expect(resolveRetry(sample, 'm-')).toEqual({ ok: false, message: '"m-" matches 4 messages: type more of the id' });
    expect(resolveRetry(sample, 'zz')).toEqual({ ok: false, message: 'no message of yours has the id "zz"' });
    const onBob = reduce(sample, { type: 'select', address: SAMPLE_BOB });
    expect(resolveRetry(onBob, undefined)).toEqual({ ok: true, value: 'm-0002-photo' });
    const retried = reduce(sample, { type: 'message-retried', id: 'm-0002-photo' });
    expect(resolveRetry(retried, undefined)).toEqual({ ok: false, message: 'no failed message to retry' });
  });
});
