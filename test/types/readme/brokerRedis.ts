// The README's example "Multi-node streams (trpc-lanyard/broker)", the Redis backend, compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
// #region readme
import { createClient } from 'redis';
import { createRedisBroker } from 'trpc-lanyard/broker';

// Every node runs this against the same Redis (and prefix): a client resumes exactly on any node.
const redis = await createClient({ url: process.env.REDIS_URL }).connect();
export const broker = createRedisBroker({ client: redis, prefix: 'chat', historySize: 1_000 });
// ioredis works too: createRedisBroker({ client: new Redis(process.env.REDIS_URL) })
// #endregion
