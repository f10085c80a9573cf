import { createMemoryBroker } from '../../src/broker/index.js';
import { describeControlContract } from './controlContract.js';

// One process: the handlers sharing a memory broker are nodes of its one bus, so "N buses" is that bus N times.
describeControlContract(
  'memory',
  async (count) => {
    const broker = createMemoryBroker();
    return { buses: Array.from({ length: count }, () => broker.control), close: () => broker.close() };
  },
  { settleMs: 20 },
);
