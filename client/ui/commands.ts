/**
 * The input line's language, pure: a line is a message, or a slash command parsed into a
 * typed `Command`, or an `invalid` result whose message says what was wrong and what
 * would be right (usage, or the command that was probably meant). `//text` sends a
 * message that starts with a slash.
 *
 * The table of commands (`COMMANDS`) is the single source for the parser, the help
 * overlay and the README.
 *
 * Not what a command does (command-runner.ts) and not which contact an optional target
 * means (targets.ts).
 */

export type Command =
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'add'; readonly address: string; readonly name?: string }
  /** `target`: an address, a contact's name or its number in the list; absent: the obvious one. */
  | { readonly kind: 'accept'; readonly target?: string }
  | { readonly kind: 'reject'; readonly target?: string }
  | { readonly kind: 'block'; readonly target?: string }
  | { readonly kind: 'nick'; readonly name: string }
  | { readonly kind: 'address' }
  | { readonly kind: 'circuit' }
  | { readonly kind: 'newcircuit' }
  /** `id`: a message id or a unique prefix of one; absent: the last failed message. */
  | { readonly kind: 'retry'; readonly id?: string }
  | { readonly kind: 'help'; readonly topic?: string }
  | { readonly kind: 'quit' };

export type ParsedInput =
  | Command
  | { readonly kind: 'invalid'; readonly message: string }
  /** A blank line: nothing to do. */
  | { readonly kind: 'empty' };

export type CommandName = Exclude<Command['kind'], 'message'>;

export interface CommandSpec {
  readonly name: CommandName;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly summary: string;
  /** How many words of arguments: [min, max] (max Infinity: the rest of the line). */
  readonly args: readonly [number, number];
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'add', aliases: [], usage: '/add <address> [name]', summary: 'add a contact and start a conversation', args: [1, Infinity] },
  { name: 'accept', aliases: [], usage: '/accept [address]', summary: 'accept a request (default: this one, else the oldest)', args: [0, Infinity] },
  { name: 'reject', aliases: [], usage: '/reject [address]', summary: 'refuse a contact request', args: [0, Infinity] },
  { name: 'block', aliases: [], usage: '/block [address]', summary: 'refuse everything from a contact (default: this one)', args: [0, Infinity] },
  { name: 'nick', aliases: ['rename'], usage: '/nick <name>', summary: 'rename the current contact', args: [1, Infinity] },
  { name: 'address', aliases: ['whoami'], usage: '/address', summary: 'show your address, alone on a line, to copy', args: [0, 0] },
  { name: 'circuit', aliases: ['circuits'], usage: '/circuit', summary: 'show the current circuits, hop by hop, with build times', args: [0, 0] },
  { name: 'newcircuit', aliases: ['newnym'], usage: '/newcircuit', summary: 'rebuild conversation circuits; unsent messages are kept', args: [0, 0] },
  { name: 'retry', aliases: [], usage: '/retry [id]', summary: 'send a failed message again (default: the last one)', args: [0, 1] },
  { name: 'help', aliases: ['h', '?'], usage: '/help [command]', summary: 'show commands and keys', args: [0, 1] },
  { name: 'quit', aliases: ['q', 'exit'], usage: '/quit', summary: 'leave (also Ctrl-C)', args: [0, 0] },
];

/** The spec of a command by name or alias (case-insensitive, with or without the slash). */
export function findCommand(word: string): CommandSpec | undefined {
  const w = word.replace(/^\//, '').toLowerCase();
  return COMMANDS.find((c) => c.name === w || c.aliases.includes(w));
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The commands a mistyped name probably meant: prefix matches, else those within two edits. */
export function suggestCommands(word: string): CommandName[] {
  const w = word.toLowerCase();
  if (w === '') return [];
  const prefixed = COMMANDS.filter((c) => c.name.startsWith(w) || c.aliases.some((a) => a.startsWith(w)));
  if (prefixed.length > 0) return prefixed.map((c) => c.name);
  return COMMANDS.filter((c) => distance(w, c.name) <= 2).map((c) => c.name);
}

const ADDRESS_PREFIX = 'chive1';

function invalid(message: string): ParsedInput {
  return { kind: 'invalid', message };
}

/** What a line typed into the input means. */
export function parseInput(line: string): ParsedInput {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  if (!line.startsWith('/')) return { kind: 'message', text: trimmed };
  if (line.startsWith('//')) return { kind: 'message', text: line.slice(1).trim() };
  const [word = '', ...args] = trimmed.slice(1).split(/\s+/);
  if (word === '') return invalid('a command name is missing after "/": /help lists the commands (// sends a message starting with /)');
  const spec = findCommand(word);
  if (spec === undefined) {
    const guesses = suggestCommands(word);
    const hint = guesses.length > 0 ? ` Did you mean ${guesses.map((g) => `/${g}`).join(' or ')}?` : '';
    return invalid(`unknown command /${word}.${hint} /help lists the commands`);
  }
  const [min, max] = spec.args;
  if (args.length < min || args.length > max) return invalid(`usage: ${spec.usage} (${spec.summary})`);
  const rest = args.join(' ');
  switch (spec.name) {
    case 'add': {
      const [address, ...name] = args as [string, ...string[]];
      if (!address.toLowerCase().startsWith(ADDRESS_PREFIX)) {
        return invalid(`"${address}" is not a chive address (they start with ${ADDRESS_PREFIX}); usage: ${spec.usage}`);
      }
      return name.length === 0 ? { kind: 'add', address } : { kind: 'add', address, name: name.join(' ') };
    }
    case 'accept':
    case 'reject':
    case 'block':
      return rest === '' ? { kind: spec.name } : { kind: spec.name, target: rest };
    case 'nick':
      return { kind: 'nick', name: rest };
    case 'retry':
      return rest === '' ? { kind: 'retry' } : { kind: 'retry', id: rest };
    case 'help':
      return rest === '' ? { kind: 'help' } : { kind: 'help', topic: rest };
    case 'address':
    case 'circuit':
    case 'newcircuit':
    case 'quit':
      return { kind: spec.name };
  }
}
