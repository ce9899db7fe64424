#!/usr/bin/env node
// The `chive` command: loads the TypeScript sources through tsx (no build step) and hands
// over to bin/chive.ts, the dispatcher.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./chive.ts');
process.exitCode = await main(process.argv.slice(2));
