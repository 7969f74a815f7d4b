-- wrk script for moto's KMS server: AWS JSON 1.1 TrentService.Encrypt (moto checks no signature).
-- Environment: BENCH_BODIES (one request body per line).
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) errors = 0 end
function request()
  return wrk.format("POST", "/", {
    ["Content-Type"] = "application/x-amz-json-1.1",
    ["X-Amz-Target"] = "TrentService.Encrypt",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/kms/aws4_request, "
      .. "SignedHeaders=host;x-amz-target, Signature=0",
  }, bodies[math.random(1, #bodies)])
end
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
function done(summary, latency, requests)
  local total_errors = 0
  for _, thread in ipairs(threads) do total_errors = total_errors + thread:get("errors") end
  io.write(string.format("BENCH requests=%d errors=%d p50_ms=%.3f p99_ms=%.3f\n", summary.requests,
    total_errors + summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
