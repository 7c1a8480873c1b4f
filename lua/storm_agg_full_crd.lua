-- storm_agg_full_crd: adds one alert to its storm in the full-crd layout (the legacy), atomically.
-- KEYS[1]  the storm's whole RemediationRequest-like JSON document (a string). Storm state lives
--          in spec: stormAlertCount, stormOverflowCount, affectedResources [...], stormType,
--          isStorm, deduplication {firstSeen, lastSeen (ms), occurrenceCount}.
-- ARGV[1]  now (ms)   ARGV[2]  inactivity window (ms)   ARGV[3]  hard cap (ms)
-- ARGV[4]  max resources   ARGV[5]  resource   ARGV[6]  pattern
-- ARGV[7]  the document of a new storm (JSON object with a "spec" object), used when one opens
-- ARGV[8]  optional: the alert's request id, stable across retries of one alert occurrence. It is
--          stored as spec.stormRequest ('0'|'1' is_new, then the id); when it equals the stored
--          one, the call is a replay of that add (its reply was lost): nothing is written and its
--          result is returned again.
-- Decodes and re-encodes the whole document per alert. A document that does not decode raises
-- "CORRUPT ..." and is left unchanged. A storm over its inactivity window or hard cap is replaced.
-- KEYS[2]  optional: the storm's close record (storm_closer.h), with ARGV[9] the close grace (ms)
--          added to the TTL. An over storm is then replaced only once that record says
--          'done:<first_seen>'; otherwise nothing is written and is_new is -1 (close it first).
-- KEYS[3]  optional, with KEYS[2] and ARGV[8]: the storm's replay list, as in storm_agg_compact.lua.
-- Returns {is_new (0|1|-1), alert_count, resource_count, overflow, first_seen, last_seen}.
-- Canonical JSON (stormkv/gateway/layouts.h) by the shared encoder lua/prelude/canonical_json.lua
-- (encode, is_list), spliced in below when the scripts are embedded.
-- stormkv:include canonical_json
local key = KEYS[1]
local now = tonumber(ARGV[1])
local inactivity = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local resource = ARGV[5]
local doc, spec, dedup
local raw = redis.call('GET', key)
if raw then
  local ok, v = pcall(cjson.decode, raw)
  local s = ok and type(v) == 'table' and v.spec
  local d = type(s) == 'table' and s.deduplication
  if type(d) ~= 'table' or type(s.stormAlertCount) ~= 'number' or
      type(s.stormOverflowCount) ~= 'number' or not is_list(s.affectedResources) or
      type(d.firstSeen) ~= 'number' or type(d.lastSeen) ~= 'number' then
    return redis.error_reply('CORRUPT full-crd storm document does not decode')
  end
  if now < d.lastSeen + inactivity and now < d.firstSeen + cap then
    doc, spec, dedup = v, s, d
  elseif KEYS[2] and
      redis.call('HGET', KEYS[2], 's') ~= 'done:' .. string.format('%d', d.firstSeen) then
    return {-1, s.stormAlertCount, #s.affectedResources, s.stormOverflowCount, d.firstSeen,
            d.lastSeen}
  end
end
local request = ARGV[8] or ''
if doc and request ~= '' and type(spec.stormRequest) == 'string' and
    string.sub(spec.stormRequest, 2) == request then
  return {tonumber(string.sub(spec.stormRequest, 1, 1)) or 0, spec.stormAlertCount,
          #spec.affectedResources, spec.stormOverflowCount, dedup.firstSeen, dedup.lastSeen}
end
if doc and request ~= '' and KEYS[3] then
  local prior = redis.call('HGET', KEYS[3], request)
  if prior then
    return {tonumber(prior) or 0, spec.stormAlertCount, #spec.affectedResources,
            spec.stormOverflowCount, dedup.firstSeen, dedup.lastSeen}
  end
end
local is_new = 0
if not doc then
  is_new = 1
  local ok, v = pcall(cjson.decode, ARGV[7])
  if not ok or type(v) ~= 'table' or type(v.spec) ~= 'table' then
    return redis.error_reply('ERR full-crd template is not a JSON object with a spec')
  end
  doc, spec = v, v.spec
  if raw and KEYS[3] then redis.call('DEL', KEYS[3]) end
  dedup = {firstSeen = now, lastSeen = now, occurrenceCount = 0}
  spec.deduplication = dedup
  spec.isStorm = true
  spec.stormType = ARGV[6]
  spec.stormAlertCount = 0
  spec.stormOverflowCount = 0
  spec.affectedResources = {}
end
local list = spec.affectedResources
local found = false
for i = 1, #list do
  if list[i] == resource then
    found = true
    break
  end
end
if not found then
  if #list < tonumber(ARGV[4]) then
    list[#list + 1] = resource
  else
    spec.stormOverflowCount = spec.stormOverflowCount + 1
  end
end
spec.stormAlertCount = spec.stormAlertCount + 1
dedup.occurrenceCount = spec.stormAlertCount
if now > dedup.lastSeen then dedup.lastSeen = now end
if request ~= '' then spec.stormRequest = is_new .. request end
local ttl = math.min(dedup.lastSeen + inactivity, dedup.firstSeen + cap) - now +
    (tonumber(ARGV[9]) or 0)
redis.call('SET', key, encode(doc), 'PX', string.format('%d', ttl))
if request ~= '' and KEYS[3] then
  redis.call('HSET', KEYS[3], request, is_new)
  redis.call('PEXPIRE', KEYS[3], string.format('%d', ttl))
end
return {is_new, spec.stormAlertCount, #list, spec.stormOverflowCount, dedup.firstSeen,
        dedup.lastSeen}
