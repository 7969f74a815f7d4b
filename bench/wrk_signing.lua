-- What the signing wrk scripts (tc3.lua, sigv4.lua) share: SHA-256 and HMAC through OpenSSL's libcrypto
-- via LuaJIT's FFI, the request bodies (BENCH_BODIES, or BENCH_KEYS with BENCH_PLAINTEXT), init and
-- response. Returns the helpers the scripts sign with.
local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len, const unsigned char *d, size_t n,
                    unsigned char *out, unsigned int *out_len);
unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *out);
typedef struct { unsigned int h[8]; unsigned int Nl, Nh; unsigned int data[16]; unsigned int num, md_len; } SHA256_CTX;
int SHA256_Init(SHA256_CTX *c);
int SHA256_Update(SHA256_CTX *c, const void *data, size_t len);
int SHA256_Final(unsigned char *md, SHA256_CTX *c);
]]
local crypto = ffi.load("crypto")
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")

local HEX_BYTE, hex_parts = {}, {}
for i = 0, 255 do HEX_BYTE[i] = string.format("%02x", i) end
local function hex(buffer)
  for i = 0, 31 do hex_parts[i + 1] = HEX_BYTE[buffer[i]] end
  return table.concat(hex_parts)
end

local function sha256_hex(text)
  crypto.SHA256(text, #text, digest)
  return hex(digest)
end

-- SHA-256 of prefix .. tail where the state after `prefix` was computed once (random-key bodies share
-- their first 5.5 KB, the plaintext, and differ only in the key id at the end).
local prefix_state, scratch_state = ffi.new("SHA256_CTX"), ffi.new("SHA256_CTX")
local function sha256_hex_after(prefix_ready, tail)
  ffi.copy(scratch_state, prefix_ready, ffi.sizeof("SHA256_CTX"))
  crypto.SHA256_Update(scratch_state, tail, #tail)
  crypto.SHA256_Final(digest, scratch_state)
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
-- The key ids stay one string (36 characters and a newline each): a table of a million strings would
-- be traversed by every LuaJIT garbage collection, which cost 70 us of load-generator CPU per request.
local bodies, key_ids, key_count = {}, "", 0
local KEY_LINE = 37
if os.getenv("BENCH_KEYS") then
  local file = assert(io.open(os.getenv("BENCH_KEYS"), "rb"))
  key_ids = file:read("*a")
  file:close()
  key_count = math.floor(#key_ids / KEY_LINE)
  assert(#key_ids == key_count * KEY_LINE, "BENCH_KEYS must hold one 36-character key id per line")
else
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
end
local plaintext = os.getenv("BENCH_PLAINTEXT") or ""
local counter = 0
-- A random-key body: the plaintext first, so that only the key id at the end differs between bodies.
local key_body_prefix = '{"Plaintext": "' .. plaintext .. '", "KeyId": "'
crypto.SHA256_Init(prefix_state)
crypto.SHA256_Update(prefix_state, key_body_prefix, #key_body_prefix)

-- The next request's body, whether it may come again (a body made unique never does), and its
-- SHA-256 in hex.
local function next_body()
  if key_count > 0 then
    local index = math.random(0, key_count - 1)
    local tail = string.sub(key_ids, index * KEY_LINE + 1, index * KEY_LINE + 36) .. '"}'
    return key_body_prefix .. tail, false, sha256_hex_after(prefix_state, tail)
  end
  local body = bodies[math.random(1, #bodies)]
  if string.find(body, "@UNIQUE@", 1, true) then
    counter = counter + 1
    body = string.gsub(body, "@UNIQUE@", string.format("%d-%d-%d", id, counter, math.random(1, 1000000000)))
    return body, false, sha256_hex(body)
  end
  return body, true, nil
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  errors = 0
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"Error"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("error response: " .. string.sub(body, 1, 300) .. "\n") end
  end
end

local function hmac_hex(key, text)
  crypto.HMAC(crypto.EVP_sha256(), key, #key, text, #text, digest, digest_len)
  return hex(digest)
end

return {
  hmac = hmac, hmac_hex = hmac_hex, sha256_hex = sha256_hex, next_body = next_body,
  secret_id = secret_id, secret_key = secret_key, host = host, action = action,
}
