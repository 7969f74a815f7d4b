// Drives OpenKMS with the official Tencent Cloud Node.js SDK, as a user would: only the endpoint changes.
// Reads {endpoint, reqMethod, signMethod, secretId, secretKey, region, repeat} as JSON on stdin; prints
// {"checks": {name: {"ok": bool, "detail": ...}}} as JSON. Run by tests/e2e/test_node_sdk.py.
"use strict";

const tencentcloud = require("tencentcloud-sdk-nodejs");

const KmsClient = tencentcloud.kms.v20190118.Client;

function client(settings, secretKey) {
  return new KmsClient({
    credential: { secretId: settings.secretId, secretKey: secretKey || settings.secretKey },
    region: settings.region,
    profile: {
      signMethod: settings.signMethod,
      httpProfile: { endpoint: settings.endpoint, protocol: "http://", reqMethod: settings.reqMethod, reqTimeout: 30 },
    },
  });
}

const b64 = (text) => Buffer.from(text).toString("base64");
const unb64 = (data) => Buffer.from(data, "base64").toString();
const alias = (kind) => `node-${kind}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;

async function failure(promise) {
  try {
    await promise;
    return { code: "Success" };
  } catch (error) {
    return { code: error.code, message: error.message, requestId: error.requestId };
  }
}

async function checks(settings) {
  const kms = client(settings);
  const results = {};
  async function check(name, body) {
    try {
      const detail = await body();
      results[name] = { ok: detail === true || (detail && detail.ok !== false), detail };
    } catch (error) {
      results[name] = { ok: false, detail: { error: String(error), code: error.code, requestId: error.requestId } };
    }
  }

  let keyId;
  let otherKeyId;
  await check("CreateKey", async () => {
    const created = await kms.CreateKey({ Alias: alias("key"), Description: "from the Node.js SDK & co" });
    keyId = created.KeyId;
    otherKeyId = (await kms.CreateKey({ Alias: alias("other") })).KeyId;
    return { ok: created.KeyState === "Enabled" && typeof created.CreateTime === "number", created };
  });
  await check("DescribeKey", async () => {
    const described = await kms.DescribeKey({ KeyId: keyId });
    const metadata = described.KeyMetadata;
    return { ok: metadata.KeyId === keyId && metadata.Description === "from the Node.js SDK & co", metadata };
  });
  await check("Encrypt and Decrypt with EncryptionContext", async () => {
    const context = JSON.stringify({ tenant: "acme", purpose: "node" });
    const sealed = await kms.Encrypt({ KeyId: keyId, Plaintext: b64("hello from node"), EncryptionContext: context });
    const opened = await kms.Decrypt({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context });
    const withoutContext = await failure(kms.Decrypt({ CiphertextBlob: sealed.CiphertextBlob }));
    return {
      ok: unb64(opened.Plaintext) === "hello from node" && opened.KeyId === keyId && withoutContext.code !== "Success",
      withoutContext,
    };
  });
  await check("GenerateDataKey", async () => {
    const generated = await kms.GenerateDataKey({ KeyId: keyId, KeySpec: "AES_256" });
    const opened = await kms.Decrypt({ CiphertextBlob: generated.CiphertextBlob });
    const bytes = Buffer.from(generated.Plaintext, "base64");
    return { ok: bytes.length === 32 && opened.Plaintext === generated.Plaintext };
  });
  await check("ReEncrypt", async () => {
    const sealed = await kms.Encrypt({ KeyId: keyId, Plaintext: b64("moving") });
    const moved = await kms.ReEncrypt({ CiphertextBlob: sealed.CiphertextBlob, DestinationKeyId: otherKeyId });
    const opened = await kms.Decrypt({ CiphertextBlob: moved.CiphertextBlob });
    return { ok: moved.KeyId === otherKeyId && opened.KeyId === otherKeyId && unb64(opened.Plaintext) === "moving" };
  });
  await check("ListKeys", async () => {
    const listed = await kms.ListKeys({ Limit: 200 });
    const ids = listed.Keys.map((key) => key.KeyId);
    return { ok: ids.includes(keyId) && ids.includes(otherKeyId) && listed.TotalCount >= 2, total: listed.TotalCount };
  });
  await check("DisableKey then Encrypt", async () => {
    await kms.DisableKey({ KeyId: otherKeyId });
    const refused = await failure(kms.Encrypt({ KeyId: otherKeyId, Plaintext: b64("no") }));
    return { ok: refused.code === "ResourceUnavailable.CmkDisabled" && refused.requestId !== "", refused };
  });
  await check("a wrong SecretKey", async () => {
    const refused = await failure(client(settings, "not-the-secret-key-at-all").GetRegions({}));
    return { ok: refused.code === "AuthFailure.SignatureFailure", refused };
  });
  await check("GetPublicKey, SignByAsymmetricKey, VerifyByAsymmetricKey", async () => {
    const signer = (await kms.CreateKey({ Alias: alias("signer"), KeyUsage: "ASYMMETRIC_SIGN_VERIFY_SM2" })).KeyId;
    const publicKey = await kms.GetPublicKey({ KeyId: signer });
    const message = b64("signed by node");
    const signed = await kms.SignByAsymmetricKey({ KeyId: signer, Algorithm: "SM2DSA", Message: message, MessageType: "RAW" });
    const verify = (text) =>
      kms.VerifyByAsymmetricKey({
        KeyId: signer,
        Algorithm: "SM2DSA",
        Message: text,
        MessageType: "RAW",
        SignatureValue: signed.Signature,
      });
    const good = await verify(message);
    const bad = await verify(b64("something else"));
    return {
      ok: publicKey.PublicKeyPem.startsWith("-----BEGIN PUBLIC KEY-----") && good.SignatureValid === true && bad.SignatureValid === false,
    };
  });
  await check(`${settings.repeat} requests in a row`, async () => {
    const refused = [];
    for (let i = 0; i < settings.repeat; i += 1) {
      const answer = await failure(kms.GenerateRandom({ NumberOfBytes: 4 }));
      if (answer.code !== "Success") refused.push(answer);
    }
    return { ok: refused.length === 0, refused: refused.slice(0, 5), count: refused.length };
  });
  return results;
}

let input = "";
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", async () => {
  const settings = JSON.parse(input);
  console.log(JSON.stringify({ checks: await checks(settings) }));
});
