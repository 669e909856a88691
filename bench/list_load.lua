-- wrk script for bench/list_load.sh: sends GET requests that rotate over the paths listed, one
-- per line, in the file named by $BENCH_PATHS (so one run spreads over several accounts, date
-- ranges or page tokens instead of repeating one URL). Without $BENCH_PATHS it requests the
-- URL given on the command line, like http_load.lua.
--
-- The Authorization header and the BENCH_RESULT summary line come from http_load.lua, loaded
-- from the same directory, so both benchmarks report in the same machine-readable form.

local directory = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(directory .. "http_load.lua")

-- Bounded: a path file longer than this is refused rather than silently cut short.
local paths_max = 1000
local paths = {}
local paths_file = os.getenv("BENCH_PATHS")
if paths_file ~= nil and paths_file ~= "" then
  for line in io.lines(paths_file) do
    if line ~= "" then
      assert(#paths < paths_max, "more than " .. paths_max .. " paths in " .. paths_file)
      paths[#paths + 1] = line
    end
  end
  assert(#paths > 0, "no paths in " .. paths_file)
end

-- Runs in wrk's main Lua state once per thread: numbers the threads so that each starts at a
-- different path.
local thread_count = 0
function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

if #paths > 0 then
  local requests = {}
  local next_index = 1

  -- Runs in each thread's state after setup; formats every request once, with the headers
  -- http_load.lua set, so request() only picks a prepared string.
  function init(args)
    for index, path in ipairs(paths) do requests[index] = wrk.format("GET", path) end
    next_index = ((thread_number or 0) % #requests) + 1
  end

  function request()
    local prepared = requests[next_index]
    next_index = next_index % #requests + 1
    return prepared
  end
end
