export { createRedisBroker, RedisBrokerError, redisControlDefaults } from './broker.js';
export type { RedisBroker, RedisBrokerOptions } from './broker.js';
export type {
  IoRedisClientLike,
  IoRedisSubscriberLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  NodeRedisClusterSubscriberLike,
  NodeRedisSubscriberLike,
  RedisClientLike,
} from './client.js';
