-- canonical_json: the one JSON encoder of the JSON layouts' scripts. lua/embed_lua.cmake
-- splices this file into each script in place of its include line, so Redis runs one
-- text per script. Canonical JSON (stormkv/gateway/layouts.h): keys in byte order, '%d'
-- integers, '%.14g' other numbers, "[]" for every empty table, '"', '\\' and control bytes
-- (0x00-0x1f, 0x7f) escaped. The C++ twin of this encoder is CanonicalJsonText
-- (src/stormkv/gateway/layouts.cc); tests/lua/canonical_json_test.cc holds them byte-equal.
local function byte_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function escape_byte(c)
  if c == '"' then return '\\"' end
  if c == '\\' then return '\\\\' end
  return string.format('\\u%04x', string.byte(c))
end
local function encode_into(v, out)
  local t = type(v)
  if t == 'string' then
    out[#out + 1] = '"' .. string.gsub(v, '[%z\1-\31"\\\127]', escape_byte) .. '"'
  elseif t == 'number' then
    if v == math.floor(v) and v >= -9007199254740992 and v <= 9007199254740992 then
      out[#out + 1] = string.format('%d', v)
    else
      out[#out + 1] = string.format('%.14g', v)
    end
  elseif t == 'boolean' then
    out[#out + 1] = v and 'true' or 'false'
  elseif t == 'table' then
    if next(v) == nil then
      out[#out + 1] = '[]'
    elseif #v > 0 then
      out[#out + 1] = '['
      for i = 1, #v do
        if i > 1 then out[#out + 1] = ',' end
        encode_into(v[i], out)
      end
      out[#out + 1] = ']'
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, byte_less)
      out[#out + 1] = '{'
      for i = 1, #keys do
        if i > 1 then out[#out + 1] = ',' end
        encode_into(keys[i], out)
        out[#out + 1] = ':'
        encode_into(v[keys[i]], out)
      end
      out[#out + 1] = '}'
    end
  else
    out[#out + 1] = 'null'
  end
end
local function encode(v)
  local out = {}
  encode_into(v, out)
  return table.concat(out)
end
local function is_list(v)
  return type(v) == 'table' and (next(v) == nil or #v > 0)
end
