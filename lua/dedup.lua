-- dedup: records one occurrence of an alert fingerprint, atomically.
-- KEYS[1]  the fingerprint's hash {count, first, last, ref} (+ {p, pt} while unfinished)
-- ARGV[1]  now (ms since the epoch)      ARGV[2]  TTL (ms), refreshed on every call that writes
-- ARGV[3]  the remediation request name of this occurrence (stored by the first one)
-- ARGV[4]  optional: an attempt id. The first occurrence is then stored UNFINISHED ('p' = the
--          attempt, 'pt' = now) until dedup_finish marks it done or abandoned, so that a delivery
--          which failed half-way is processed again by the next one instead of being taken for
--          a duplicate.
-- ARGV[5]  with ARGV[4]: the lease (ms). An unfinished record of another attempt younger than
--          this is busy; an older one (or an abandoned one: no 'pt') is resumed.
-- Returns {state, count, first_seen, last_seen, ref}; last_seen never goes back. state:
--   0 new; 1 duplicate; 2 resumed (the unfinished first occurrence of an earlier attempt, taken
--   over: count unchanged); 3 busy (unfinished by another live attempt: nothing was written).
local key = KEYS[1]
local now = tonumber(ARGV[1])
local attempt = ARGV[4]
if not attempt then
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
end
local m = redis.call('HMGET', key, 'count', 'first', 'last', 'ref', 'p', 'pt')
local state, count, first, last, ref
if not m[1] then
  redis.call('HSET', key, 'count', '1', 'first', ARGV[1], 'last', ARGV[1], 'ref', ARGV[3],
             'p', attempt, 'pt', ARGV[1])
  state, count, first, last, ref = 0, 1, now, now, ARGV[3]
else
  first = tonumber(m[2]) or now
  last = tonumber(m[3]) or now
  ref = m[4] or ARGV[3]
  if m[5] then
    count = tonumber(m[1])
    if not count then return redis.error_reply('CORRUPT dedup record has a bad count') end
    if m[5] ~= attempt and now < (tonumber(m[6]) or 0) + tonumber(ARGV[5]) then
      return {3, count, first, last, ref}
    end
    redis.call('HSET', key, 'p', attempt, 'pt', ARGV[1])
    state = 2
  else
    count = redis.call('HINCRBY', key, 'count', 1)
    state = 1
  end
  if now > last then
    last = now
    redis.call('HSET', key, 'last', ARGV[1])
  end
end
redis.call('PEXPIRE', key, ARGV[2])
return {state, count, first, last, ref}
