import { createHash } from 'node:crypto';

/** A Lua script with its SHA1, run with EVALSHA and, on NOSCRIPT, EVAL (which caches it again). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Appends one event to a channel, atomically:
 * KEYS: meta hash, stream[, idempotency key]
 * ARGV: payload, historySize, historyTtlMs, metaTtlMs, newEpoch, pubsubChannel[, idempotencyTtlMs]
 * Returns { epoch, offset }. A missing meta means the channel is new or its data was lost: a new epoch
 * starts at offset 1 and the stale stream (if any) goes. The stream entry id IS the offset (`<offset>-0`),
 * so offsets are contiguous and a catch-up is one XRANGE. The PUBLISH carries `epoch:offset:payload`.
 * With an idempotency key already set, nothing is appended and the first publish's epoch/offset come back.
 */
export const publishScript = lua(`
local meta, stream = KEYS[1], KEYS[2]
if KEYS[3] then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local sep = string.find(prev, ':', 1, true)
    return { string.sub(prev, 1, sep - 1), tonumber(string.sub(prev, sep + 1)) }
  end
end
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'e', epoch, 's', 0)
end
local offset = redis.call('HINCRBY', meta, 's', 1)
redis.call('XADD', stream, 'MAXLEN', ARGV[2], offset .. '-0', 'd', ARGV[1])
redis.call('PEXPIRE', stream, ARGV[3])
redis.call('PEXPIRE', meta, ARGV[4])
redis.call('PUBLISH', ARGV[6], epoch .. ':' .. offset .. ':' .. ARGV[1])
if KEYS[3] then
  redis.call('SET', KEYS[3], epoch .. ':' .. offset, 'PX', ARGV[7])
end
return { epoch, offset }
`);

/**
 * Reads a channel's position and, when asked, the events after an offset, in one step:
 * KEYS: meta hash, stream
 * ARGV: sinceOffset (-1: position only), recoveryLimit, newEpoch, metaTtlMs
 * Returns { epoch, top, entries }. entries are XRANGE rows `[id, [field, value]]` after sinceOffset: empty when
 * nothing was asked or nothing is missing, only the oldest retained one when more than recoveryLimit are missing
 * (enough to tell 'evicted' from 'recovery-limit'; the caller then signals a gap: no partial replay). A missing meta is created with a new epoch at offset 0, so a subscriber of an empty channel holds
 * the epoch its first event will carry.
 */
export const catchUpScript = lua(`
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[3]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'e', epoch, 's', 0)
  redis.call('PEXPIRE', meta, ARGV[4])
end
local top = tonumber(redis.call('HGET', meta, 's') or '0')
local since = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if since < 0 or top <= since then
  return { epoch, top, {} }
end
local count = limit
if top - since > limit then
  count = 1
end
return { epoch, top, redis.call('XRANGE', stream, (since + 1) .. '-0', '+', 'COUNT', count) }
`);

/**
 * Reads a channel's position without changing anything (the periodic position check):
 * KEYS: meta hash. Returns { epoch, top }, or { false, 0 } when the meta is gone (the channel's data was lost).
 */
export const positionScript = lua(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  return { false, 0 }
end
return { epoch, tonumber(redis.call('HGET', KEYS[1], 's') or '0') }
`);

/**
 * Appends a command to the control log and wakes the readers, atomically:
 * KEYS: log stream. ARGV: envelope JSON, controlLogLength, wake channel, logTtlMs.
 * Returns the entry id. The log expires `logTtlMs` after the last post (a prefix no longer used leaves nothing).
 */
export const controlPostScript = lua(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[3], id)
return id
`);

/**
 * Marks nodes alive for `nodeTtlMs` more, by Redis's clock (so nodes' clocks may differ), and drops the
 * expired ones: KEYS: nodes sorted set (id → when its liveness expires). ARGV: nodeTtlMs, id...
 */
export const controlHeartbeatScript = lua(`
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local keep = redis.call('PTTL', KEYS[1])
if keep < ttl * 10 then
  redis.call('PEXPIRE', KEYS[1], ttl * 10)
end
return now
`);

/** The nodes whose liveness has not expired by Redis's clock: KEYS: nodes. */
export const controlNodesScript = lua(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`);

/**
 * Redis's clock where the control log lives (KEYS: log stream, only to route the script to its node), in ms:
 * the clock its entry ids are made from.
 */
export const controlClockScript = lua(`
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`);
