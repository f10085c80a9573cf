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

/** The Redis names of a prefix's control bus. The keys share one hash tag, so a Cluster keeps them in one slot (MGET works). */
export interface ControlKeys {
  /** Stream of posted commands (field `e`: the envelope's JSON), trimmed to about `controlLogLength`. */
  readonly log: string;
  /** Sorted set: node id → when its liveness expires (its last heartbeat plus its `nodeTtlMs`, Redis's clock, ms). */
  readonly nodes: string;
  /** Pub/sub channel told the log's new entry id after each post. */
  readonly wake: string;
  /** String with a TTL: the revocation record of a session key (JSON). */
  revocation(key: string): string;
  /** Pub/sub channel of the replies to the commands a bus posted. */
  replies(busId: string): string;
}

export function controlKeys(prefix: string): ControlKeys {
  const tag = `{${prefix}:ctl}`;
  return {
    log: `${tag}:log`,
    nodes: `${tag}:nodes`,
    wake: `${prefix}:ctl:wake`,
    revocation: (key) => `${tag}:rv:${key}`,
    replies: (busId) => `${prefix}:ctl:reply:${busId}`,
  };
}
