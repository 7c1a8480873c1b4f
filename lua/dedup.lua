-- dedup: records one occurrence of an alert fingerprint, atomically.
-- KEYS[1]  the fingerprint's hash {count, first, last, ref}
-- ARGV[1]  now (ms since the epoch)      ARGV[2]  TTL (ms), refreshed on every call
-- ARGV[3]  the remediation request name of this occurrence (stored by the first one)
-- Returns {is_duplicate (0|1), count, first_seen, last_seen, ref}; last_seen never goes back.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local count = redis.call('HINCRBY', key, 'count', 1)
local first, last, ref
if count == 1 then
  redis.call('HSET', key, 'first', ARGV[1], 'last', ARGV[1], 'ref', ARGV[3])
  first, last, ref = now, now, ARGV[3]
else
  local m = redis.call('HMGET', key, 'first', 'last', 'ref')
  first = tonumber(m[1]) or now
  last = tonumber(m[2]) or now
  ref = m[3] or ARGV[3]
  if now > last then
    last = now
    redis.call('HSET', key, 'last', ARGV[1])
  end
end
redis.call('PEXPIRE', key, ARGV[2])
local dup = 0
if count > 1 then dup = 1 end
return {dup, count, first, last, ref}
