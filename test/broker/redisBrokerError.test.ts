import { describe, expect, it } from 'vitest';
import { describeDriverError, RedisBrokerError } from '../../src/broker/redis/broker.js';

// node-redis rejects a command that timed out with a `TimeoutError` whose message is empty: the
// bench saw "publish to … failed: " with nothing after it. The name says what happened.
describe('RedisBrokerError', () => {
  it('names a driver error whose message is empty, instead of ending in "failed: "', () => {
    const timeout = new Error('');
    timeout.name = 'TimeoutError';
    expect(`failed: ${describeDriverError(timeout)}`).toBe('failed: TimeoutError');
    expect(describeDriverError(new Error('WRONGTYPE Operation against a key'))).toBe('WRONGTYPE Operation against a key');
    expect(describeDriverError('socket closed')).toBe('socket closed');
  });

  it('is a SERVICE_UNAVAILABLE TRPCError carrying the driver error as cause', () => {
    const cause = new Error('boom');
    const error = new RedisBrokerError('publish to "x" failed: boom', cause);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('trpc-lanyard/broker: publish to "x" failed: boom');
  });
});
