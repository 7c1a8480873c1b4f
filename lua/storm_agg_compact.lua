-- storm_agg_compact: adds one alert to its storm in the compact layout, atomically.
-- KEYS[1]  the storm's hash: '#n' alerts, '#f' first seen (ms), '#l' last seen (ms),
--          '#p' pattern, '#o' overflow, and one field per resource (value: its alert count)
-- ARGV[1]  now (ms)   ARGV[2]  inactivity window (ms)   ARGV[3]  hard cap (ms)
-- ARGV[4]  max resources   ARGV[5]  resource field (never starts with '#')   ARGV[6]  pattern
-- O(1) per alert. A storm over its inactivity window or hard cap is replaced by a new one.
-- Returns {is_new (0|1), alert_count, resource_count, overflow, first_seen, last_seen}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local inactivity = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local m = redis.call('HMGET', key, '#n', '#f', '#l', '#o', '#p')
local count, first, last, overflow = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
local is_new = 0
if not (m[1] or m[2] or m[3] or m[4] or m[5]) then
  is_new = 1
elseif not (count and first and last and overflow and m[5]) then
  return redis.error_reply('CORRUPT compact storm record lacks its fields')
elseif now >= last + inactivity or now >= first + cap then
  is_new = 1
end
if is_new == 1 then
  if m[1] then redis.call('DEL', key) end
  redis.call('HSET', key, '#n', '0', '#f', ARGV[1], '#l', ARGV[1], '#p', ARGV[6], '#o', '0')
  count, first, last, overflow = 0, now, now, 0
end
local resources = redis.call('HLEN', key) - 5
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
redis.call('PEXPIRE', key, string.format('%d', math.min(last + inactivity, first + cap) - now))
return {is_new, count, resources, overflow, first, last}
