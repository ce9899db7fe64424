/**
 * `chive`: a thin dispatcher to each role's command module. It parses nothing but the
 * subcommand name; every command owns its flags and its --help.
 *
 * Not a place for logic: anything more than picking a module belongs to that module.
 */
const COMMANDS: Record<string, { summary: string; hidden?: boolean; load: () => Promise<(argv: string[]) => Promise<number>> }> = {
  relay: {
    summary: 'run a relay (chive relay --help)',
    load: async () => (await import('../relay/command.js')).runRelayCommand,
  },
  monitor: {
    summary: 'a dashboard of a relay, from its local metrics port (chive monitor --help)',
    load: async () => (await import('../relay/monitor/command.js')).runMonitorCommand,
  },
  directory: {
    summary: 'run a directory authority (chive directory --help)',
    load: async () => (await import('../directory/command.js')).runDirectoryCommand,
  },
  socks: {
    summary: 'a SOCKS5 front end so any TCP program can use the network (chive socks --help)',
    load: async () => (await import('../client/socks-command.js')).runSocksCommand,
  },
  chat: {
    summary: 'chat anonymously, in the terminal UI or headless JSON lines (chive chat --help)',
    load: async () => (await import('../client/chat/command.js')).runChatCommand,
  },
  demo: {
    summary: 'try it: a local network, an echo bot and the chat UI in one command (what npm start runs)',
    load: async () => (await import('../testnet/demo-command.js')).runDemoCommand,
  },
  'load-worker': {
    summary: 'internal: one process of chive bench load',
    hidden: true,
    load: async () => (await import('../testnet/load-worker.js')).runLoadWorker,
  },
  testnet: {
    summary: 'start a local network, one process per node (chive testnet --help)',
    load: async () => (await import('../testnet/command.js')).runTestnetCommand,
  },
  bench: {
    summary: 'measure a network as OnionPerf does: build times, RTT, TTFB / TTLB, goodput (chive bench --help)',
    load: async () => (await import('../testnet/bench-command.js')).runBenchCommand,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).filter(([, c]) => !c.hidden).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: chive <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('chive 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`chive: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const run = await command.load();
  return run(rest);
}
