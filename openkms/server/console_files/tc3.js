// TC3-HMAC-SHA256, as the Tencent Cloud SDKs sign requests, computed with the browser's Web Crypto.
// The SecretKey stays in this tab's memory: it is never stored and never sent.

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key, message) {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(message)));
}

export class ApiError extends Error {
  constructor(code, message, requestId) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

export async function signedHeaders(credential, action, body, language) {
  const timestamp = Math.floor(Date.now() / 1000);
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const contentType = "application/json; charset=utf-8";
  const canonical = [
    "POST", "/", "", `content-type:${contentType}\nhost:${location.host}\n`, "content-type;host", await sha256Hex(body),
  ].join("\n");
  const scope = `${date}/kms/tc3_request`;
  const toSign = ["TC3-HMAC-SHA256", String(timestamp), scope, await sha256Hex(canonical)].join("\n");
  let key = await hmac(encoder.encode("TC3" + credential.secretKey), date);
  key = await hmac(key, "kms");
  key = await hmac(key, "tc3_request");
  const signature = hex(await hmac(key, toSign));
  return {
    "Content-Type": contentType,
    "X-TC-Action": action,
    "X-TC-Version": "2019-01-18",
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Region": credential.region,
    "X-TC-Language": language,
    Authorization: `TC3-HMAC-SHA256 Credential=${credential.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
  };
}

export async function callApi(credential, action, params, language) {
  const body = JSON.stringify(params || {});
  const response = await fetch("/", { method: "POST", headers: await signedHeaders(credential, action, body, language), body });
  let answer;
  try {
    answer = (await response.json()).Response;
  } catch {
    throw new ApiError("InternalError", `HTTP ${response.status}`, "");
  }
  if (!answer) throw new ApiError("InternalError", `HTTP ${response.status}: not an API response`, "");
  if (answer.Error) {
    throw new ApiError(answer.Error.Code, answer.Error.Message, answer.RequestId);
  }
  return answer;
}
