-- Count changes of a batch script, summed per counter and written once per
-- counter at the end, so a batch of N jobs of one type costs one HINCRBY
-- per state instead of N.
local tally = {}

local function tallyMove(name, from, to)
  if from ~= '' then
    local k = name .. '|' .. from
    tally[k] = (tally[k] or 0) - 1
  end
  if to ~= '' then
    local k = name .. '|' .. to
    tally[k] = (tally[k] or 0) + 1
  end
end

local function tallyAdd(name, letter, n)
  local k = name .. '|' .. letter
  tally[k] = (tally[k] or 0) + n
end

-- With a table `counted`, records in it the types (name -> true) whose
-- counter was positive before: jobs of theirs were counted, so an earlier
-- script recorded the type.
local function flushTally(countsKey, counted)
  for k, d in pairs(tally) do
    -- '%d': Redis would print a Lua number with '%.17g', at several times the cost.
    if d ~= 0 and redis.call('HINCRBY', countsKey, k, string.format('%d', d)) - d > 0 and counted then
      counted[string.match(k, '^(.*)|')] = true
    end
  end
  tally = {}
end
