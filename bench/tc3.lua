-- wrk script: every request signed TC3-HMAC-SHA256 the way the Tencent Cloud SDK signs it, with the
-- current timestamp, through OpenSSL's libcrypto via LuaJIT's FFI.
--
-- Environment: BENCH_SECRET_ID, BENCH_SECRET_KEY, BENCH_HOST (the Host header, e.g. 127.0.0.1:8300),
-- BENCH_ACTION (Encrypt, Decrypt, GenerateDataKey), BENCH_BODIES (a file of request bodies, one per
-- line; each request takes one at random).
local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len, const unsigned char *d, size_t n,
                    unsigned char *out, unsigned int *out_len);
unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *out);
]]
local crypto = ffi.load("crypto")
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")

local function hex(buffer)
  local parts = {}
  for i = 0, 31 do parts[i + 1] = string.format("%02x", buffer[i]) end
  return table.concat(parts)
end

local function sha256_hex(text)
  crypto.SHA256(text, #text, digest)
  return hex(digest)
end

local function hmac(key, text)
  crypto.HMAC(crypto.EVP_sha256(), key, #key, text, #text, digest, digest_len)
  return ffi.string(digest, 32)
end

local secret_id = os.getenv("BENCH_SECRET_ID")
local secret_key = os.getenv("BENCH_SECRET_KEY")
local host = os.getenv("BENCH_HOST")
local action = os.getenv("BENCH_ACTION")
-- Either whole bodies (BENCH_BODIES) or, to spread requests over many keys, a file of key ids
-- (BENCH_KEYS) and one Base64 plaintext (BENCH_PLAINTEXT) from which each request's body is built.
local bodies, keys = {}, {}
if os.getenv("BENCH_KEYS") then
  for line in io.lines(os.getenv("BENCH_KEYS")) do keys[#keys + 1] = line end
else
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
end
local plaintext = os.getenv("BENCH_PLAINTEXT") or ""
local counter = 0

local function next_body()
  if #keys > 0 then
    return '{"KeyId": "' .. keys[math.random(1, #keys)] .. '", "Plaintext": "' .. plaintext .. '"}'
  end
  local body = bodies[math.random(1, #bodies)]
  if string.find(body, "@UNIQUE@", 1, true) then
    counter = counter + 1
    body = string.gsub(body, "@UNIQUE@", string.format("%d-%d-%d", id, counter, math.random(1, 1000000000)))
  end
  return body
end

local signing_date, signing_key = nil, nil

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  errors = 0
end

function request()
  local body = next_body()
  local timestamp = os.time()
  local date = os.date("!%Y-%m-%d", timestamp)
  if date ~= signing_date then
    signing_date = date
    signing_key = hmac(hmac(hmac("TC3" .. secret_key, date), "kms"), "tc3_request")
  end
  local canonical = "POST\n/\n\ncontent-type:application/json\nhost:" .. host .. "\n\ncontent-type;host\n"
    .. sha256_hex(body)
  local to_sign = "TC3-HMAC-SHA256\n" .. timestamp .. "\n" .. date .. "/kms/tc3_request\n" .. sha256_hex(canonical)
  crypto.HMAC(crypto.EVP_sha256(), signing_key, 32, to_sign, #to_sign, digest, digest_len)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Host"] = host,
    ["X-TC-Action"] = action,
    ["X-TC-Version"] = "2019-01-18",
    ["X-TC-Timestamp"] = tostring(timestamp),
    ["X-TC-Region"] = "ap-guangzhou",
    ["Authorization"] = "TC3-HMAC-SHA256 Credential=" .. secret_id .. "/" .. date
      .. "/kms/tc3_request, SignedHeaders=content-type;host, Signature=" .. hex(digest),
  }
  return wrk.format("POST", "/", headers, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"Error"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("error response: " .. string.sub(body, 1, 300) .. "\n") end
  end
end

function done(summary, latency, requests)
  local total_errors = 0
  for _, thread in ipairs(threads) do total_errors = total_errors + thread:get("errors") end
  io.write(string.format("BENCH requests=%d errors=%d p50_ms=%.3f p99_ms=%.3f\n", summary.requests,
    total_errors + summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
