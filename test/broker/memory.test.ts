import { createMemoryBroker } from '../../src/broker/index.js';
import type { MemoryBroker } from '../../src/broker/index.js';
import { describeBrokerContract } from './contract.js';

describeBrokerContract('memory', (options) => createMemoryBroker(options), {
  sharedStore: false,
  subscriberCount: (broker, channel) => (broker as MemoryBroker).subscriberCount(channel),
});
