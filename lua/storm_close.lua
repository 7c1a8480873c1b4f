-- storm_close: who emits a storm's final RemediationRequest, decided atomically (pipeline.h).
-- KEYS[1]  the storm's close record (hash, same hash tag as its aggregation): 's' its state,
--          'd' the descriptor of the alert that opened it (what the final request names).
--          States: 'open:<first>', 'claim:<first>:<until ms>:<claimer>', 'done:<first>', where
--          <first> is the storm's first seen (ms) and so tells one storm from the next.
-- ARGV[1]  now (ms)   ARGV[2]  mode: 'open' | 'claim' | 'done'   ARGV[3]  the storm's first seen
-- ARGV[4]  ttl of the record (ms, > 0): the storm's deadline plus the close grace, from now
-- open:  ARGV[5] the descriptor. Writes state 'open:<first>' and the descriptor unless the record
--        already names this storm (a repeated open writes nothing). Returns {1|0, '', 0}.
-- claim: ARGV[5] claimer id   ARGV[6] lease (ms). {2, d, 0}: the storm is done already;
--        {0, d, until}: another claimer holds a claim that is still live; otherwise the caller
--        claims it until now + lease (a claimer may renew its own claim) and gets {1, d, 0}.
-- done:  marks the storm done (its final request was handed out). Returns {1, d, 0}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local mode = ARGV[2]
local first = ARGV[3]
local m = redis.call('HMGET', key, 's', 'd')
local state, desc = m[1] or '', m[2] or ''
local claimed = 'claim:' .. first .. ':'
if mode == 'open' then
  if state == 'open:' .. first or state == 'done:' .. first or
      string.sub(state, 1, #claimed) == claimed then
    return {0, '', 0}
  end
  redis.call('HSET', key, 's', 'open:' .. first, 'd', ARGV[5])
  redis.call('PEXPIRE', key, ARGV[4])
  return {1, '', 0}
end
if state == 'done:' .. first then return {2, desc, 0} end
if mode == 'claim' then
  if string.sub(state, 1, #claimed) == claimed then
    local rest = string.sub(state, #claimed + 1)
    local colon = string.find(rest, ':', 1, true)
    if colon then
      local until_ms = tonumber(string.sub(rest, 1, colon - 1))
      if until_ms and now < until_ms and string.sub(rest, colon + 1) ~= ARGV[5] then
        return {0, desc, until_ms}
      end
    end
  end
  redis.call('HSET', key, 's', claimed .. string.format('%d', now + tonumber(ARGV[6])) .. ':' ..
             ARGV[5])
  redis.call('PEXPIRE', key, ARGV[4])
  return {1, desc, 0}
end
if mode ~= 'done' then return redis.error_reply('ERR storm_close: unknown mode') end
redis.call('HSET', key, 's', 'done:' .. first)
redis.call('PEXPIRE', key, ARGV[4])
return {1, desc, 0}
