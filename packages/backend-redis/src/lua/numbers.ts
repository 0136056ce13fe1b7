/**
 * Lua for incr: reads numbers stored as 0x01 'j' + JSON text, writes a sum exactly as JavaScript's JSON.stringify
 * would (shortest round-trip digits, ECMAScript Number::toString layout) — so stored bytes, and usage, are identical
 * whichever backend or language did the add — and applies core's `incrSum` rule.
 */
export const NUMBERS = String.raw`
-- The number in stored value bytes; nil, 'nan' when it is certainly not a number; nil, 'js' when only JS can tell
-- (a number stored through superjson — NaN, -0, ±Infinity — or a format this script does not know).
local function jsnumber(value)
  local kind = string.sub(value, 1, 2)
  if kind ~= '\1j' then return nil, 'js' end
  local text = string.sub(value, 3)
  if not string.match(text, '^%-?%d') then return nil, 'nan' end
  local n = tonumber(text)
  if n == nil then return nil, 'nan' end
  return n
end

-- core's incrSum rule: the sum must be finite, and a sum of two integers must be a safe integer (past 2^53 an
-- increment can vanish). Returns false when the incr must be refused.
local function sumAllowed(base, by, sum)
  if sum ~= sum or sum == math.huge or sum == -math.huge then return false end
  if math.floor(base) == base and math.floor(by) == by and (sum > 9007199254740991 or sum < -9007199254740991) then
    return false
  end
  return true
end

-- A number as text JavaScript's Number() reads back exactly (for error messages built in JS).
local function numtext(x)
  if x ~= x then return 'NaN' end
  if x == math.huge then return 'Infinity' end
  if x == -math.huge then return '-Infinity' end
  return string.format('%.17g', x)
end

-- JSON text of a finite number, as JavaScript writes it; nil for NaN and infinities.
local function jsformat(x)
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  if x == 0 then return '0' end
  local sign = ''
  if x < 0 then sign = '-'; x = -x end
  local digits, exp
  for p = 1, 17 do
    local s = string.format('%.' .. (p - 1) .. 'e', x)
    if tonumber(s) == x then
      local m, e = string.match(s, '^([%d%.]+)e([-+]%d+)$')
      digits = string.gsub(m, '%.', '')
      exp = tonumber(e)
      break
    end
  end
  digits = string.gsub(digits, '0+$', '')
  if digits == '' then digits = '0' end
  local k, n = #digits, exp + 1
  local s
  if k <= n and n <= 21 then
    s = digits .. string.rep('0', n - k)
  elseif 0 < n and n <= 21 then
    s = string.sub(digits, 1, n) .. '.' .. string.sub(digits, n + 1)
  elseif -6 < n and n <= 0 then
    s = '0.' .. string.rep('0', -n) .. digits
  else
    local e = n - 1
    local tail = ''
    if k > 1 then tail = '.' .. string.sub(digits, 2) end
    local esign = '+'
    if e < 0 then esign = '-' end
    s = string.sub(digits, 1, 1) .. tail .. 'e' .. esign .. tostring(math.abs(e))
  end
  return sign .. s
end
`
