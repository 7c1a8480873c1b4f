-- storm_agg_compact: adds one alert to its storm in the compact layout, atomically.
-- KEYS[1]  the storm's hash: '#n' alerts, '#f' first seen (ms), '#l' last seen (ms),
--          '#p' pattern, '#o' overflow, '#r' the last alert added ('0'|'1' is_new, then its
--          request id), and one field per resource (value: its alert count)
-- ARGV[1]  now (ms)   ARGV[2]  inactivity window (ms)   ARGV[3]  hard cap (ms)
-- ARGV[4]  max resources   ARGV[5]  resource field (never starts with '#')   ARGV[6]  pattern
-- ARGV[7]  optional: the alert's request id, stable across retries of one alert occurrence.
--          When it equals the id of the last alert added, the call is a replay of that add
--          (its reply was lost): nothing is written and its result is returned again.
-- KEYS[2]  optional: the storm's close record (storm_closer.h), with ARGV[8] the close grace (ms)
--          added to the TTL. An over storm is then replaced only once that record says
--          'done:<first_seen>'; otherwise nothing is written and is_new is -1 (close it first).
-- KEYS[3]  optional, with KEYS[2] and ARGV[7]: the storm's replay list, a hash of the request ids
--          of adds whose alerts are still in flight ('0'|'1' is_new each; the Pipeline deletes an
--          id once its alert is marked done). An id found there is a replay, even after other
--          adds: nothing is written and is_new is returned again. Replacing a storm deletes it.
-- O(1) per alert. A storm over its inactivity window or hard cap is replaced by a new one.
-- Returns {is_new (0|1|-1), alert_count, resource_count, overflow, first_seen, last_seen}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local inactivity = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local request = ARGV[7] or ''
local m = redis.call('HMGET', key, '#n', '#f', '#l', '#o', '#p', '#r')
local count, first, last, overflow = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
local reserved = 5
if m[6] then reserved = 6 end
local is_new = 0
if not (m[1] or m[2] or m[3] or m[4] or m[5] or m[6]) then
  is_new = 1
elseif not (count and first and last and overflow and m[5]) then
  return redis.error_reply('CORRUPT compact storm record lacks its fields')
elseif now >= last + inactivity or now >= first + cap then
  if KEYS[2] and redis.call('HGET', KEYS[2], 's') ~= 'done:' .. m[2] then
    return {-1, count, redis.call('HLEN', key) - reserved, overflow, first, last}
  end
  is_new = 1
elseif request ~= '' and m[6] and string.sub(m[6], 2) == request then
  return {tonumber(string.sub(m[6], 1, 1)) or 0, count, redis.call('HLEN', key) - reserved,
          overflow, first, last}
elseif request ~= '' and KEYS[3] then
  local prior = redis.call('HGET', KEYS[3], request)
  if prior then
    return {tonumber(prior) or 0, count, redis.call('HLEN', key) - reserved, overflow, first, last}
  end
end
if is_new == 1 then
  if m[1] or m[2] or m[3] or m[4] or m[5] or m[6] then
    redis.call('DEL', key)
    if KEYS[3] then redis.call('DEL', KEYS[3]) end
  end
  redis.call('HSET', key, '#n', '0', '#f', ARGV[1], '#l', ARGV[1], '#p', ARGV[6], '#o', '0')
  count, first, last, overflow, reserved = 0, now, now, 0, 5
end
local resources = redis.call('HLEN', key) - reserved
if resources < tonumber(ARGV[4]) then
  if redis.call('HINCRBY', key, ARGV[5], 1) == 1 then resources = resources + 1 end
elseif redis.call('HEXISTS', key, ARGV[5]) == 1 then
  redis.call('HINCRBY', key, ARGV[5], 1)
else
  overflow = redis.call('HINCRBY', key, '#o', 1)
end
count = redis.call('HINCRBY', key, '#n', 1)
if now > last then
  last = now
  redis.call('HSET', key, '#l', ARGV[1])
end
if request ~= '' then redis.call('HSET', key, '#r', is_new .. request) end
local ttl = string.format('%d', math.min(last + inactivity, first + cap) - now +
                                (tonumber(ARGV[8]) or 0))
redis.call('PEXPIRE', key, ttl)
if request ~= '' and KEYS[3] then
  redis.call('HSET', KEYS[3], request, is_new)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {is_new, count, resources, overflow, first, last}
