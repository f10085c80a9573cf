import { TRPCError } from '@trpc/server';

/**
 * What a driver's failure says, for a message: its `message`, or its name when the message is
 * empty (node-redis's command `TimeoutError` has none), so a message never ends in "failed: ".
 */
export function describeDriverError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || error.name;
}

/**
 * `publish`, and the control bus's `post` and revocation records, reject with this when Redis did not answer
 * (code SERVICE_UNAVAILABLE, the driver's error as `cause`).
 */
export class RedisBrokerError extends TRPCError {
  override readonly name = 'RedisBrokerError';

  constructor(message: string, cause?: unknown) {
    super({ code: 'SERVICE_UNAVAILABLE', message: `trpc-lanyard/broker: ${message}`, cause });
  }
}
