/**
 * The client's public API: the bootstrapped client and what it hands out.
 * Not the UI and not the SOCKS server (client/socks-server.ts uses this API).
 */
export { ChiveClient, type ClientOptions, type CircuitRequest, type BootstrapProgress, type BootstrapStage } from './client.js';
export type { ClientCircuit } from './circuit.js';
export type { ClientStream } from './stream.js';
export type { RelayInfo } from './relay-info.js';

import { loadNetworkFile } from '../src/io/network-file.js';
import { ChiveClient, type ClientOptions } from './client.js';

/** A bootstrapped client from a network file path. */
export async function createClient(options: Omit<ClientOptions, 'network'> & { networkFile: string }): Promise<ChiveClient> {
  const { networkFile, ...rest } = options;
  const client = new ChiveClient({ ...rest, network: loadNetworkFile(networkFile) });
  try {
    await client.bootstrap();
  } catch (e) {
    await client.close();
    throw e;
  }
  return client;
}
