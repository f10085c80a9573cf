import { createClient } from 'redis';
import type { Broker } from 'trpc-lanyard/broker';
import { createRedisBroker } from 'trpc-lanyard/broker';

/** Both processes' broker: one Redis (`REDIS_URL`), one key prefix (`GATEWAY_PREFIX`). */
export async function connectBroker(): Promise<{ broker: Broker; close(): Promise<void> }> {
  const url = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
  const client = createClient({ url, socket: { connectTimeout: 2_000 } });
  client.on('error', (error: unknown) => console.error('redis:', error instanceof Error ? error.message : error));
  try {
    await client.connect();
  } catch {
    console.error(`no Redis answers at ${url}: start redis-server, or set REDIS_URL`);
    process.exit(1);
  }
  const broker = createRedisBroker({ client, prefix: process.env['GATEWAY_PREFIX'] || 'lanyard-gateway' });
  return {
    broker,
    close: async () => {
      await broker.close();
      await client.quit();
    },
  };
}
