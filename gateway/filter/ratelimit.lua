-- Spring Cloud Gateway's request_rate_limiter.lua, in semantics and keys (spec §4.2):
-- a token bucket in two keys, refilled in whole seconds of the Redis server's clock.
--   KEYS[1] request_rate_limiter.{ROUTE.KEY}.tokens
--   KEYS[2] request_rate_limiter.{ROUTE.KEY}.timestamp
--   ARGV    replenishRate, burstCapacity, now, requestedTokens
-- now is passed empty, as Spring passes it, so the script reads TIME; tests may pass
-- a number of seconds instead.
-- Returns {allowed (1 or 0), tokens left}.
redis.replicate_commands()

local tokens_key = KEYS[1]
local timestamp_key = KEYS[2]

local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3]) or tonumber(redis.call('TIME')[1])
local requested = tonumber(ARGV[4])

local fill_time = capacity / rate
local ttl = math.floor(fill_time * 2)

local last_tokens = tonumber(redis.call('get', tokens_key))
if last_tokens == nil then
  last_tokens = capacity
end

local last_refreshed = tonumber(redis.call('get', timestamp_key))
if last_refreshed == nil then
  last_refreshed = 0
end

local delta = math.max(0, now - last_refreshed)
local filled_tokens = math.min(capacity, last_tokens + (delta * rate))
local allowed = filled_tokens >= requested
local new_tokens = filled_tokens
local allowed_num = 0
if allowed then
  new_tokens = filled_tokens - requested
  allowed_num = 1
end

if ttl > 0 then
  redis.call('setex', tokens_key, ttl, new_tokens)
  redis.call('setex', timestamp_key, ttl, now)
end

return { allowed_num, new_tokens }
