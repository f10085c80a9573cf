/** The Redis names of one channel. The keys share a hash tag, so a Cluster keeps them in one slot. */
export interface ChannelKeys {
  /** Hash: `e` epoch, `s` top offset. */
  readonly meta: string;
  /** Stream whose entry ids are the offsets (`<offset>-0`), field `d` the payload. */
  readonly stream: string;
  /** Pub/sub channel of live events (`epoch:offset:payload`). */
  readonly pubsub: string;
  /** Idempotency key of a publish (`SET NX PX`). */
  idempotency(key: string): string;
}

export function channelKeys(prefix: string, channel: string): ChannelKeys {
  const tag = `{${prefix}:${channel}}`;
  return {
    meta: `${tag}:meta`,
    stream: `${tag}:stream`,
    pubsub: `${prefix}:live:${channel}`,
    idempotency: (key) => `${tag}:idem:${key}`,
  };
}
