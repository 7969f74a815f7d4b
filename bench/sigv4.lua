-- wrk script: every request signed AWS Signature Version 4 the way botocore signs an AWS KMS request
-- (AWS JSON 1.1, X-Amz-Target), with the current time, through OpenSSL's libcrypto via LuaJIT's FFI.
-- A signature is reused only for the same body within the same second, as for tc3.lua.
--
-- Environment: BENCH_SECRET_ID, BENCH_SECRET_KEY, BENCH_HOST, BENCH_ACTION (Encrypt, Decrypt,
-- GenerateDataKey), BENCH_REGION (default ap-guangzhou), BENCH_BODIES (request bodies, one per line:
-- Tencent's Encrypt bodies are AWS's too, {"KeyId", "Plaintext"}).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
dofile(here .. "report.lua")
local shared = dofile(here .. "wrk_signing.lua")
local hmac, hmac_hex, sha256_hex, next_body = shared.hmac, shared.hmac_hex, shared.sha256_hex, shared.next_body
local secret_id, secret_key, host, action = shared.secret_id, shared.secret_key, shared.host, shared.action
local signing_date, signing_key = nil, nil
local region = os.getenv("BENCH_REGION") or "ap-guangzhou"

local signed_second, signed = nil, {}

function request()
  local body, repeatable, body_hash = next_body()
  local timestamp = os.time()
  if timestamp ~= signed_second then
    signed_second, signed = timestamp, {}
  end
  local cached = signed[body]
  if cached then
    return cached
  end
  local date = os.date("!%Y%m%d", timestamp)
  local amz_date = os.date("!%Y%m%dT%H%M%SZ", timestamp)
  if date ~= signing_date then
    signing_date = date
    signing_key = hmac(hmac(hmac(hmac("AWS4" .. secret_key, date), region), "kms"), "aws4_request")
  end
  local target = "TrentService." .. action
  local canonical = "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:" .. host .. "\nx-amz-date:"
    .. amz_date .. "\nx-amz-target:" .. target .. "\n\ncontent-type;host;x-amz-date;x-amz-target\n"
    .. (body_hash or sha256_hex(body))
  local scope = date .. "/" .. region .. "/kms/aws4_request"
  local to_sign = "AWS4-HMAC-SHA256\n" .. amz_date .. "\n" .. scope .. "\n" .. sha256_hex(canonical)
  local headers = {
    ["Content-Type"] = "application/x-amz-json-1.1",
    ["Host"] = host,
    ["X-Amz-Date"] = amz_date,
    ["X-Amz-Target"] = target,
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. secret_id .. "/" .. scope
      .. ", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" .. hmac_hex(signing_key, to_sign),
  }
  local formatted = wrk.format("POST", "/", headers, body)
  if repeatable then
    signed[body] = formatted
  end
  return formatted
end
