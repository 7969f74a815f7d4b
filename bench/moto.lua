-- wrk script for moto's KMS server: AWS JSON 1.1 TrentService.Encrypt (moto checks no signature).
-- Environment: BENCH_BODIES (one request body per line).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
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
