/**
 * IPC messages of the Redis fan-out scenario (`BENCH_SCENARIOS=redis`), and the event both sides publish.
 */
export const REDIS_IMPL_NAMES = ['lanyard', 'socketio'] as const;
export type RedisImplName = (typeof REDIS_IMPL_NAMES)[number];

/** One published message; `at` is `now()` in the publishing node just before the publish call. */
export interface RedisBenchEvent {
  readonly seq: number;
  readonly at: number;
  readonly text: string;
}

export type NodeCommand =
  | { type: 'count' }
  | { type: 'publish'; events: number; ratePerSec: number; payloadBytes: number }
  | { type: 'stop' };

export type NodeReply =
  | { type: 'ready'; port: number }
  | { type: 'count'; clients: number; localSubscribers: number }
  | { type: 'published'; events: number; firstAt: number; lastAt: number }
  | { type: 'error'; message: string };

export type RedisLoadCommand =
  | { type: 'subscribe'; urls: string[]; subscribersPerNode: number; batch: number; timeoutMs: number }
  | { type: 'expect'; events: number; timeoutMs: number }
  | { type: 'stop' };

export type RedisLoadReply =
  | { type: 'subscribed'; ms: number }
  | {
      type: 'delivered';
      deliveries: number;
      firstDeliveryAt: number;
      lastDeliveryAt: number;
      /** publish → deliver, milliseconds. */
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
      /** Subscribers on node B only: every message reached them through Redis for both sides. */
      nodeBP50Ms: number;
      nodeBP99Ms: number;
    }
  | { type: 'error'; message: string };

export function isRedisImpl(name: string | undefined): name is RedisImplName {
  return (REDIS_IMPL_NAMES as readonly (string | undefined)[]).includes(name);
}
