-- wrk script: every request signed TC3-HMAC-SHA256 the way the Tencent Cloud SDK signs it, with the
-- current timestamp, through OpenSSL's libcrypto via LuaJIT's FFI. A signature is reused only for the
-- same body within the same second: exactly when the SDK would produce the same one (TC3 signs the
-- body, the headers and the timestamp in seconds, and nothing else that varies).
--
-- Environment: BENCH_SECRET_ID, BENCH_SECRET_KEY, BENCH_HOST (the Host header, e.g. 127.0.0.1:8300),
-- BENCH_ACTION (Encrypt, Decrypt, GenerateDataKey), BENCH_BODIES (a file of request bodies, one per
-- line; each request takes one at random).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
dofile(here .. "report.lua")
local shared = dofile(here .. "wrk_signing.lua")
local hmac, hmac_hex, sha256_hex, next_body = shared.hmac, shared.hmac_hex, shared.sha256_hex, shared.next_body
local secret_id, secret_key, host, action = shared.secret_id, shared.secret_key, shared.host, shared.action
local signing_date, signing_key = nil, nil

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
  local date = os.date("!%Y-%m-%d", timestamp)
  if date ~= signing_date then
    signing_date = date
    signing_key = hmac(hmac(hmac("TC3" .. secret_key, date), "kms"), "tc3_request")
  end
  local canonical = "POST\n/\n\ncontent-type:application/json\nhost:" .. host .. "\n\ncontent-type;host\n"
    .. (body_hash or sha256_hex(body))
  local to_sign = "TC3-HMAC-SHA256\n" .. timestamp .. "\n" .. date .. "/kms/tc3_request\n" .. sha256_hex(canonical)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Host"] = host,
    ["X-TC-Action"] = action,
    ["X-TC-Version"] = "2019-01-18",
    ["X-TC-Timestamp"] = tostring(timestamp),
    ["X-TC-Region"] = "ap-guangzhou",
    ["Authorization"] = "TC3-HMAC-SHA256 Credential=" .. secret_id .. "/" .. date
      .. "/kms/tc3_request, SignedHeaders=content-type;host, Signature=" .. hmac_hex(signing_key, to_sign),
  }
  local formatted = wrk.format("POST", "/", headers, body)
  if repeatable then
    signed[body] = formatted
  end
  return formatted
end
