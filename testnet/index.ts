/**
 * The testing API, exported for people who measure chive circuits in their own tests:
 * `createTestNetwork`, `measureCircuit`, and the client type they return.
 */
export { createTestNetwork, type TestNetwork, type TestNetworkOptions, type TestRelay } from './test-network.js';
export { measureCircuit, echoOnce, type CircuitMeasurement, type MeasureOptions } from './measure.js';
export { ChiveClient, type ClientOptions, type BootstrapProgress } from '../client/client.js';
