-- wrk script: tc3.lua's signed requests at a fixed total rate instead of as fast as possible.
-- wrk has no rate option; delay() (called before each request a connection sends) paces them. Each
-- wrk thread keeps a schedule of send slots, BENCH_RATE / BENCH_THREADS per second, and a connection
-- that is ready waits for the next free slot. Requests are then sent on schedule whatever the latency
-- (as long as enough connections are idle): a stall does not lower the offered rate by much, and with
-- it the latency a stall causes stays in the percentiles. (wrk still times each request from when it
-- is written, so requests that could not be sent during a stall are not counted as late: wrk2's
-- coordinated-omission correction is not applied.)
--
-- Environment: as tc3.lua, plus BENCH_RATE (requests per second, all threads together) and
-- BENCH_THREADS (wrk's -t, default 2).
--
--   BENCH_RATE=3000 wrk -t2 -c32 -d60s --latency -s fixed_rate.lua http://127.0.0.1:8300/
local ffi = require("ffi")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "tc3.lua")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } fixed_rate_timespec;
int clock_gettime(int clock_id, fixed_rate_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("fixed_rate_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("BENCH_RATE") or "3000")
local threads_count = tonumber(os.getenv("BENCH_THREADS") or "2")
local interval_ms = 1000 * threads_count / rate
local next_slot = nil

function delay()
  local now = now_ms()
  if next_slot == nil then
    -- Threads start their schedules offset from one another, so their sends interleave.
    next_slot = now + ((id or 1) - 1) * interval_ms / threads_count
  end
  if next_slot < now - 1000 then
    next_slot = now - 1000 -- after a long stall, catch up at most a second's worth of slots at once
  end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait <= 0 then return 0 end
  -- wrk takes whole milliseconds: round at random so that the average wait is exact.
  local whole = math.floor(wait)
  if math.random() < wait - whole then whole = whole + 1 end
  return whole
end
