-- storm_detect: counts one alert for rate- and pattern-storm detection, atomically.
-- KEYS[1]  rate counter (string) of a fixed window that starts with its first alert
-- KEYS[2]  pattern window (zset: member resource, score its last-seen ms)
-- ARGV[1]  now (ms)          ARGV[2]  rate window (ms)      ARGV[3]  pattern window (ms)
-- ARGV[4]  resource          ARGV[5]  max tracked resources (>= 1)
-- ARGV[6]  rate threshold    ARGV[7]  pattern threshold
-- INCR and PEXPIRE NX run together, so the counter never lives without a TTL.
-- Returns {rate_count, distinct_resources, rate_storm (0|1), pattern_storm (0|1)}.
local now = tonumber(ARGV[1])
local rate = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now - tonumber(ARGV[3])))
local card = redis.call('ZCARD', KEYS[2])
local seen = redis.call('ZSCORE', KEYS[2], ARGV[4])
if seen then
  if tonumber(seen) < now then
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
  end
elseif card < tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
  card = card + 1
end
if card > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local rate_storm, pattern_storm = 0, 0
if rate > tonumber(ARGV[6]) then rate_storm = 1 end
if card > tonumber(ARGV[7]) then pattern_storm = 1 end
return {rate, card, rate_storm, pattern_storm}
