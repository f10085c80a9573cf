import type { TrackedEnvelope } from '@trpc/server';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import type { RedisBroker, RedisBrokerOptions, RedisClientLike } from '../../src/broker/redis/index.js';
import { channelKeys } from '../../src/broker/redis/keys.js';

export type DriverName = 'node-redis' | 'ioredis';

/** A command client of either driver, and a way to send raw commands (for test set-up and checks). */
export interface TestClient {
  readonly client: RedisClientLike;
  command(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function connectClient(driver: DriverName, url: string): Promise<TestClient> {
  if (driver === 'node-redis') {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      command: (args) => client.sendCommand(args),
      close: async () => {
        client.destroy();
      },
    };
  }
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('ioredis could not connect')));
  });
  return {
    client,
    command: (args) => client.call(args[0] ?? '', args.slice(1)),
    close: async () => {
      client.disconnect();
    },
  };
}

/** Makes brokers on one client and one key prefix (nodes of one cluster); closes them all at the end. */
export class BrokerPool {
  readonly #brokers: RedisBroker[] = [];
  constructor(
    readonly client: TestClient,
    readonly prefix: string,
  ) {}

  make(options: Omit<RedisBrokerOptions, 'client' | 'prefix'> = {}): RedisBroker {
    const broker = createRedisBroker({ client: this.client.client, prefix: this.prefix, ...options });
    this.#brokers.push(broker);
    return broker;
  }

  /** Deletes a channel's keys: the store "lost" its data. */
  async loseChannelData(channel: string): Promise<void> {
    const keys = channelKeys(this.prefix, channel);
    await this.client.command(['DEL', keys.meta, keys.stream]);
  }

  /** Redis subscriptions of a channel, all nodes together (PUBSUB NUMSUB). */
  async redisSubscriptions(channel: string): Promise<number> {
    const reply = (await this.client.command(['PUBSUB', 'NUMSUB', channelKeys(this.prefix, channel).pubsub])) as unknown[];
    return Number(reply[1]);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#brokers.splice(0).map((broker) => broker.close()));
  }
}

/** Reads a stream in the background, recording events and how it ended. */
export class Collector {
  readonly events: [id: string, data: unknown][] = [];
  error: unknown = null;
  ended = false;
  readonly done: Promise<void>;

  constructor(iterable: AsyncIterable<TrackedEnvelope<unknown>>) {
    this.done = (async () => {
      try {
        for await (const [id, data] of iterable) this.events.push([id, data]);
      } catch (error) {
        this.error = error;
      } finally {
        this.ended = true;
      }
    })();
  }

  get data(): unknown[] {
    return this.events.map(([, data]) => data);
  }

  get lastId(): string | null {
    return this.events.at(-1)?.[0] ?? null;
  }
}

/** Waits until `check` holds (polling), failing with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
