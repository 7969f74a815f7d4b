-- What every wrk script of the benchmark reports: the one BENCH line bench/run.py reads. Each script
-- loads this file and counts its own failed responses in the global `errors` of each thread.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total_errors = 0
  for _, thread in ipairs(threads) do total_errors = total_errors + thread:get("errors") end
  io.write(string.format("BENCH requests=%d errors=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", summary.requests,
    total_errors + summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
