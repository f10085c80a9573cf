import type { LuaScript } from './scripts.js';

/**
 * The part of a node-redis (`redis` v5/v6) client the broker uses: a connected client from `createClient()`.
 * Structural, so the package stays an optional peer dependency (never imported, never bundled).
 */
export interface NodeRedisClientLike {
  readonly isReady: boolean;
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  duplicate(): NodeRedisSubscriberLike;
}

/** A node-redis connection in subscriber mode (the broker makes one with `duplicate()`). */
export interface NodeRedisSubscriberLike {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  unsubscribe(channel: string, listener?: (message: string, channel: string) => unknown): Promise<unknown>;
  on(event: 'error' | 'ready' | 'end', listener: (...args: unknown[]) => void): unknown;
  destroy(): void;
}

/** The part of a node-redis Cluster client the broker uses: a connected `createCluster()`. */
export interface NodeRedisClusterLike {
  readonly isReady: boolean;
  readonly masters: readonly unknown[];
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  duplicate(): NodeRedisClusterSubscriberLike;
}

/** A node-redis Cluster client in subscriber mode (the broker makes one with `duplicate()`). */
export interface NodeRedisClusterSubscriberLike {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Called without a listener: the connection is the broker's alone, with one listener per channel. */
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'error' | 'node-ready', listener: (...args: unknown[]) => void): unknown;
  destroy(): void;
}

/** The part of an ioredis (v5/v6) client the broker uses: a `new Redis(...)` or `new Cluster(...)` instance. */
export interface IoRedisClientLike {
  readonly status: string;
  call(command: string, args: (string | number)[]): Promise<unknown>;
  duplicate(): IoRedisSubscriberLike;
}

/** An ioredis connection in subscriber mode (the broker makes one with `duplicate()`). */
export interface IoRedisSubscriberLike {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error' | 'ready' | 'end', listener: (...args: unknown[]) => void): unknown;
  disconnect(): void;
}

/** A node-redis or an ioredis client, standalone or Cluster. */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | IoRedisClientLike;


/** What the broker needs from Redis, whichever driver: scripts and commands on the command connection, one pub/sub connection. */
export interface RedisDriver {
  ready(): boolean;
  runScript(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** One command (`['MGET', k1, k2]`); on a Cluster it goes to the master of `firstKey`'s slot (any node without one). */
  command(args: readonly string[], firstKey?: string): Promise<unknown>;
  createSubscriber(handlers: SubscriberHandlers): PubSubConnection;
}

export interface SubscriberHandlers {
  /** One raw pub/sub message; called once per node per message. */
  message(channel: string, message: string): void;
  /** The connection came back (after a drop) with its channels subscribed again: messages may have been missed. */
  resubscribed(): void;
}

export interface PubSubConnection {
  /** Connected, with its channels subscribed (false while it reconnects). */
  ready(): boolean;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  close(): void;
}

// ioredis clients have a `sendCommand` too; `call` and a string `status` are theirs alone.
function isIoRedis(client: RedisClientLike): client is IoRedisClientLike {
  const candidate = client as Partial<IoRedisClientLike>;
  return typeof candidate.call === 'function' && typeof candidate.status === 'string';
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

async function evalWith(
  send: (args: string[]) => Promise<unknown>,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await send(['EVALSHA', script.sha, ...tail]);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return send(['EVAL', script.source, ...tail]);
  }
}

/** Wraps whichever client was given behind one small interface. */
export function createDriver(client: RedisClientLike): RedisDriver {
  if (isIoRedis(client)) return ioRedisDriver(client);
  return 'masters' in client ? nodeRedisClusterDriver(client) : nodeRedisDriver(client);
}

function nodeRedisClusterDriver(client: NodeRedisClusterLike): RedisDriver {
  return {
    ready: () => client.isReady,
    // The first key routes the script to its slot's master (all of a channel's keys share one slot).
    runScript: (script, keys, args) => evalWith((a) => client.sendCommand(keys[0], false, a), script, keys, args),
    command: (args, firstKey) => client.sendCommand(firstKey, false, [...args]),
    createSubscriber(handlers) {
      const sub = client.duplicate();
      const listener = (message: string, channel: string): void => handlers.message(channel, message);
      let closed = false;
      let connected = false;
      sub.on('error', () => {});
      // A node (re)connected: the pub/sub node resubscribes before it is ready; a re-read covers the drop.
      sub.on('node-ready', () => {
        if (connected && !closed) handlers.resubscribed();
      });
      const connecting = sub.connect().then(() => {
        connected = true;
      });
      connecting.catch(() => {});
      return {
        ready: () => connected && sub.isReady,
        async subscribe(channel) {
          await connecting;
          await sub.subscribe(channel, listener);
        },
        async unsubscribe(channel) {
          await connecting;
          await sub.unsubscribe(channel);
        },
        close() {
          closed = true;
          try {
            sub.destroy();
          } catch {
            // already closed
          }
        },
      };
    },
  };
}

function nodeRedisDriver(client: NodeRedisClientLike): RedisDriver {
  return {
    ready: () => client.isReady,
    runScript: (script, keys, args) => evalWith((a) => client.sendCommand(a), script, keys, args),
    command: (args) => client.sendCommand(args),
    createSubscriber(handlers) {
      const sub = client.duplicate();
      const listener = (message: string, channel: string): void => handlers.message(channel, message);
      let wasReady = false;
      let closed = false;
      /**
       * Up from 'ready' (after `resubscribed` was told) to the next drop. `isReady` alone turns true before
       * 'ready' is emitted: a reader could take the link for up, then hear of the reconnect, and resync twice.
       */
      let up = false;
      // node-redis resubscribes before it emits 'ready' again; without an 'error' listener a drop would throw.
      sub.on('error', () => {
        up = false;
      });
      sub.on('end', () => {
        up = false;
      });
      sub.on('ready', () => {
        if (wasReady && !closed) handlers.resubscribed();
        wasReady = true;
        up = true;
      });
      const connected = sub.connect();
      connected.catch(() => {});
      return {
        ready: () => up && sub.isReady,
        async subscribe(channel) {
          await connected;
          await sub.subscribe(channel, listener);
        },
        async unsubscribe(channel) {
          await connected;
          await sub.unsubscribe(channel, listener);
        },
        close() {
          closed = true;
          try {
            sub.destroy();
          } catch {
            // already closed
          }
        },
      };
    },
  };
}

function ioRedisDriver(client: IoRedisClientLike): RedisDriver {
  return {
    ready: () => client.status === 'ready',
    runScript: (script, keys, args) => evalWith((a) => client.call(a[0] ?? '', a.slice(1)), script, keys, args),
    command: (args) => client.call(args[0] ?? '', args.slice(1)),
    createSubscriber(handlers) {
      const sub = client.duplicate();
      const channels = new Set<string>();
      let wasReady = false;
      let closed = false;
      /** Between 'ready' after a drop and the acknowledgement of the channels subscribed again. */
      let resubscribing = false;
      sub.on('error', () => {});
      sub.on('message', (channel: string, message: string) => handlers.message(channel, message));
      sub.on('ready', () => {
        if (!wasReady || closed) {
          wasReady = true;
          return;
        }
        // ioredis resubscribes on 'ready' without waiting; subscribing again (a no-op for Redis) tells when it is done.
        const list = [...channels];
        resubscribing = true;
        const done = list.length > 0 ? sub.subscribe(...list) : Promise.resolve();
        done.then(
          () => {
            resubscribing = false;
            handlers.resubscribed();
          },
          () => {
            resubscribing = false;
          },
        );
      });
      return {
        ready: () => sub.status === 'ready' && !resubscribing,
        async subscribe(channel) {
          channels.add(channel);
          await sub.subscribe(channel);
        },
        async unsubscribe(channel) {
          channels.delete(channel);
          await sub.unsubscribe(channel);
        },
        close() {
          closed = true;
          sub.disconnect();
        },
      };
    },
  };
}
