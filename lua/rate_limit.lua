-- rate_limit: GCRA, atomically.
-- KEYS[1]  the client's theoretical arrival time (string, µs since the epoch)
-- ARGV[1]  now (ms)   ARGV[2]  emission interval (µs per unit, >= 1)
-- ARGV[3]  burst      ARGV[4]  cost (>= 0; 0 only reads)
-- An allowed request with cost > 0 stores the new arrival time with a TTL that ends when the
-- bucket is full again; a denied one writes nothing. A stored time that is not a number, NaN,
-- or later than now + burst * interval (corrupt, or a clock that went back) counts as a full
-- bucket: no valid state lies further ahead.
-- Returns {allowed (0|1), remaining, retry_after_ms, reset_after_ms}.
local now = tonumber(ARGV[1]) * 1000
local interval = tonumber(ARGV[2])
local burst_offset = interval * tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or not (tat >= now and tat <= now + burst_offset) then tat = now end
local new_tat = tat + interval * cost
local diff = now - (new_tat - burst_offset)
if diff < 0 then
  local remaining = math.floor((now - (tat - burst_offset)) / interval)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(-diff / 1000), math.ceil((tat - now) / 1000)}
end
local reset_ms = math.ceil((new_tat - now) / 1000)
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', reset_ms))
end
return {1, math.floor(diff / interval), 0, reset_ms}
