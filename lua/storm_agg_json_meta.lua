-- storm_agg_json_meta: adds one alert to its storm in the json-meta layout, atomically.
-- KEYS[1]  the storm's JSON record {"alert_count","first_seen","last_seen","overflow","pattern",
--          "resources":[...]} (a string; the triage note's lightweight record)
-- ARGV[1]  now (ms)   ARGV[2]  inactivity window (ms)   ARGV[3]  hard cap (ms)
-- ARGV[4]  max resources   ARGV[5]  resource   ARGV[6]  pattern
-- ARGV[7]  optional: the alert's request id, stable across retries of one alert occurrence. It is
--          stored as "request" ('0'|'1' is_new, then the id); when it equals the stored one, the
--          call is a replay of that add (its reply was lost): nothing is written and its result
--          is returned again.
-- Decodes, scans, appends and re-encodes the record: O(resources) per alert. A record that does
-- not decode raises "CORRUPT ..." and is left unchanged. A storm over its inactivity window or
-- hard cap is replaced by a new one.
-- KEYS[2]  optional: the storm's close record (storm_closer.h), with ARGV[8] the close grace (ms)
--          added to the TTL. An over storm is then replaced only once that record says
--          'done:<first_seen>'; otherwise nothing is written and is_new is -1 (close it first).
-- KEYS[3]  optional, with KEYS[2] and ARGV[7]: the storm's replay list, as in storm_agg_compact.lua.
-- Returns {is_new (0|1|-1), alert_count, resource_count, overflow, first_seen, last_seen}.
-- Canonical JSON (stormkv/gateway/layouts.h) by the shared encoder lua/prelude/canonical_json.lua
-- (encode, is_list), spliced in below when the scripts are embedded.
-- stormkv:include canonical_json
local key = KEYS[1]
local now = tonumber(ARGV[1])
local inactivity = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local resource = ARGV[5]
local rec
local raw = redis.call('GET', key)
if raw then
  local ok, v = pcall(cjson.decode, raw)
  if not ok or type(v) ~= 'table' or type(v.alert_count) ~= 'number' or
      type(v.first_seen) ~= 'number' or type(v.last_seen) ~= 'number' or
      type(v.overflow) ~= 'number' or not is_list(v.resources) then
    return redis.error_reply('CORRUPT json-meta storm record does not decode')
  end
  if now < v.last_seen + inactivity and now < v.first_seen + cap then
    rec = v
  elseif KEYS[2] and
      redis.call('HGET', KEYS[2], 's') ~= 'done:' .. string.format('%d', v.first_seen) then
    return {-1, v.alert_count, #v.resources, v.overflow, v.first_seen, v.last_seen}
  end
end
local request = ARGV[7] or ''
if rec and request ~= '' and type(rec.request) == 'string' and
    string.sub(rec.request, 2) == request then
  return {tonumber(string.sub(rec.request, 1, 1)) or 0, rec.alert_count, #rec.resources,
          rec.overflow, rec.first_seen, rec.last_seen}
end
if rec and request ~= '' and KEYS[3] then
  local prior = redis.call('HGET', KEYS[3], request)
  if prior then
    return {tonumber(prior) or 0, rec.alert_count, #rec.resources, rec.overflow, rec.first_seen,
            rec.last_seen}
  end
end
local is_new = 0
if not rec then
  is_new = 1
  if raw and KEYS[3] then redis.call('DEL', KEYS[3]) end
  rec = {alert_count = 0, first_seen = now, last_seen = now, overflow = 0, pattern = ARGV[6],
         resources = {}}
end
local list = rec.resources
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
    rec.overflow = rec.overflow + 1
  end
end
rec.alert_count = rec.alert_count + 1
if now > rec.last_seen then rec.last_seen = now end
if request ~= '' then rec.request = is_new .. request end
local ttl = math.min(rec.last_seen + inactivity, rec.first_seen + cap) - now +
    (tonumber(ARGV[8]) or 0)
redis.call('SET', key, encode(rec), 'PX', string.format('%d', ttl))
if request ~= '' and KEYS[3] then
  redis.call('HSET', KEYS[3], request, is_new)
  redis.call('PEXPIRE', KEYS[3], string.format('%d', ttl))
end
return {is_new, rec.alert_count, #list, rec.overflow, rec.first_seen, rec.last_seen}
