// The OpenKMS web console: one page, no build step, no server-side session. Every request is an API
// action signed in this tab (tc3.js); what the API refuses is shown with its error code and message.

import { ApiError, callApi } from "./tc3.js";
import { STATES, STATE_FILTER, STATE_NAMES, WORDS } from "./i18n.js";

const PAGE_SIZE = 20;
const POST_QUANTUM_USAGES = ["PQC_ENCRYPT_DECRYPT_ML_KEM_768", "PQC_SIGN_VERIFY_ML_DSA_65"];
const SIGN_ALGORITHMS = ["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256", "ECC_P256_R1", "ECC_P384_R1", "SM2DSA"];

function firstLanguage() {
  const chosen = localStorage.getItem("openkms-language");
  if (chosen === "en" || chosen === "zh") return chosen;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

const session = { credential: null, language: firstLanguage() };
const app = document.getElementById("app");

// ---- small helpers ----------------------------------------------------------------------------

function t(word, values) {
  let text = WORDS[session.language][word] || WORDS.en[word] || word;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, () => String(value));
  return text;
}

// Builds elements from data: API values always become text nodes, never markup.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "value") element.value = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString(session.language === "zh" ? "zh-CN" : "en-GB") : "-";
}

function toBase64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

// Plaintext as text when it is UTF-8, else as the Base64 the API gave.
function shownText(base64) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytesFromBase64(base64));
  } catch {
    return `Base64: ${base64}`;
  }
}

function bytesFromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function api(action, params) {
  return callApi(session.credential, action, params, session.language === "zh" ? "zh-CN" : "en-US");
}

function showError(error) {
  const box = document.getElementById("error");
  if (!box) return;
  box.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function notice(text) {
  const box = document.getElementById("notice");
  if (box) {
    box.textContent = text;
    box.hidden = false;
  }
}

function clearMessages() {
  for (const id of ["error", "notice"]) {
    const box = document.getElementById(id);
    if (box) box.hidden = true;
  }
}

// Runs an action from a button: messages cleared first, any refusal shown.
async function run(work) {
  clearMessages();
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}

function confirmed(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-yes").textContent = t("confirmYes");
  document.getElementById("confirm-no").textContent = t("confirmNo");
  return new Promise((resolve) => {
    const answer = (value) => () => {
      dialog.close();
      resolve(value);
    };
    document.getElementById("confirm-yes").onclick = answer(true);
    document.getElementById("confirm-no").onclick = answer(false);
    dialog.oncancel = (event) => {  // Escape: the same as Cancel
      event.preventDefault();
      answer(false)();
    };
    dialog.showModal();
  });
}

function download(name, text) {
  const link = h("a", { href: "data:application/x-pem-file;charset=utf-8," + encodeURIComponent(text), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- layout -----------------------------------------------------------------------------------

const ROUTES = [
  ["keys", "keys"], ["create", "create"], ["datakeys", "dataKeys"], ["whitebox", "whiteBox"],
  ["workbench", "workbench"], ["audit", "audit"], ["glance", "glance"],
];

function frame(title, ...content) {
  const parent = { key: "keys", datakey: "datakeys", whiteboxkey: "whitebox" };
  const page = location.hash.slice(2).split("/")[0] || "keys";
  const route = parent[page] || page;
  const nav = h("nav", {},
    ROUTES.map(([path, word]) => h("a", { href: `#/${path}`, id: `nav-${path}`, class: route === path ? "current" : null }, t(word))));
  const tools = h("div", { class: "tools" },
    h("span", { class: "who", id: "who" }, session.credential.secretId),
    h("button", { class: "secondary", id: "lang", onclick: switchLanguage }, t("language")),
    h("button", { class: "secondary", id: "sign-out", onclick: signOut }, t("signOut")));
  app.replaceChildren(
    h("header", {}, h("a", { href: "#/keys", class: "brand" }, h("img", { src: "logo.svg", alt: "" }), "OpenKMS"), nav, tools),
    h("main", {}, h("h1", {}, title), h("div", { id: "error", class: "error", hidden: true, role: "alert" }),
      h("div", { id: "notice", class: "notice", hidden: true }), ...content));
}

function switchLanguage() {
  session.language = session.language === "en" ? "zh" : "en";
  localStorage.setItem("openkms-language", session.language);
  document.documentElement.lang = session.language === "zh" ? "zh-CN" : "en";
  route();
}

function signOut() {
  session.credential = null;
  location.hash = "";
  route();
}

// ---- sign in ----------------------------------------------------------------------------------

function signInPage() {
  const secretId = h("input", { id: "secret-id", autocomplete: "off", spellcheck: "false" });
  const secretKey = h("input", { id: "secret-key", type: "password", autocomplete: "off" });
  const region = h("input", { id: "region", value: "ap-guangzhou" });
  const submit = async (event) => {
    event.preventDefault();
    const credential = { secretId: secretId.value.trim(), secretKey: secretKey.value, region: region.value.trim() };
    await run(async () => {
      try {
        await callApi(credential, "GetRegions", {}, session.language === "zh" ? "zh-CN" : "en-US");
      } catch (error) {
        // A policy may deny GetRegions; only a refused signature means a wrong credential.
        if (!(error instanceof ApiError) || error.code.startsWith("AuthFailure")) throw error;
      }
      session.credential = credential;
      if (!location.hash || location.hash === "#/") location.hash = "#/keys";
      route();
    });
  };
  app.replaceChildren(h("main", { class: "sign-in" },
    h("h1", {}, h("img", { src: "logo.svg", alt: "" }), t("title")),
    h("form", { onsubmit: submit },
      field(t("secretId"), secretId), field(t("secretKey"), secretKey), field(t("region"), region),
      h("div", { id: "error", class: "error", hidden: true, role: "alert" }),
      h("div", { class: "row" },
        h("button", { id: "sign-in", type: "submit" }, t("signIn")),
        h("button", { type: "button", class: "secondary", id: "lang", onclick: switchLanguage }, t("language")))),
    h("p", { class: "hint" }, t("signInNote"))));
}

// ---- keys -------------------------------------------------------------------------------------

const keyFilters = { state: 0, usage: "ALL", alias: "", tag: "", order: 0, offset: 0 };

function stateName(state) {
  return STATE_NAMES[session.language][state] || state;
}

async function keysPage() {
  const state = h("select", { id: "filter-state" },
    h("option", { value: "0" }, t("all")), STATES.map((s) => h("option", { value: String(STATE_FILTER[s]) }, stateName(s))));
  state.value = String(keyFilters.state);
  const usage = h("select", { id: "filter-usage" }, h("option", { value: "ALL" }, t("all")));
  const alias = h("input", { id: "filter-alias", value: keyFilters.alias });
  const tag = h("input", { id: "filter-tag", value: keyFilters.tag, placeholder: "team=payments" });
  const order = h("select", { id: "filter-order" },
    h("option", { value: "0" }, t("newestFirst")), h("option", { value: "1" }, t("oldestFirst")));
  order.value = String(keyFilters.order);
  const body = h("tbody", {});
  const pager = h("div", { class: "pager" });
  const apply = () => {
    Object.assign(keyFilters, {
      state: Number(state.value), usage: usage.value, alias: alias.value.trim(), tag: tag.value.trim(),
      order: Number(order.value), offset: 0,
    });
    load();
  };
  frame(t("keys"),
    h("div", { class: "filters" }, field(t("state"), state), field(t("usage"), usage), field(t("searchAlias"), alias),
      field(t("tagFilter"), tag), field(t("created"), order), h("button", { id: "apply-filters", onclick: apply }, t("apply"))),
    h("div", { class: "scroll" }, h("table", { id: "keys-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("alias")), h("th", { class: "narrow-hidden" }, t("keyId")), h("th", {}, t("state")),
        h("th", {}, t("usage")), h("th", { class: "narrow-hidden" }, t("created")))),
      body)),
    pager);
  const load = () => run(async () => {
    const params = {
      Offset: keyFilters.offset, Limit: PAGE_SIZE, KeyState: keyFilters.state, OrderType: keyFilters.order,
      KeyUsage: keyFilters.usage, Origin: "ALL",
    };
    if (keyFilters.alias) params.SearchKeyAlias = keyFilters.alias;
    if (keyFilters.tag.includes("=")) {
      const [key, value] = keyFilters.tag.split("=", 2);
      params.TagFilters = [{ TagKey: key.trim(), TagValue: [value.trim()] }];
    }
    const listed = await api("ListKeyDetail", params);
    body.replaceChildren(...(listed.KeyMetadatas || []).map((key) => h("tr", { "data-key-id": key.KeyId },
      h("td", {}, h("a", { href: `#/key/${key.KeyId}` }, key.Alias)), h("td", { class: "mono narrow-hidden" }, key.KeyId),
      h("td", {}, h("span", { class: `state ${key.KeyState}` }, stateName(key.KeyState))), h("td", {}, key.KeyUsage),
      h("td", { class: "narrow-hidden" }, when(key.CreateTime)))));
    if (!listed.KeyMetadatas || listed.KeyMetadatas.length === 0) body.append(h("tr", {}, h("td", { colspan: 5 }, t("none"))));
    pager.replaceChildren(...pagerButtons(keyFilters.offset, listed.TotalCount, (offset) => { keyFilters.offset = offset; load(); }));
  });
  load();
  usageOptions().then((usages) => {
    usage.append(...usages.map((u) => h("option", { value: u }, u)));
    usage.value = keyFilters.usage;
  }).catch(() => {});
}

// Previous and next around "page n of m": `move(offset)` shows the page starting there.
function pagerButtons(offset, total, move) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const current = Math.floor(offset / PAGE_SIZE) + 1;
  return [
    h("button", { id: "prev", class: "secondary", disabled: current <= 1, onclick: () => move(offset - PAGE_SIZE) }, t("previous")),
    h("span", { id: "page-info" }, `${t("page")} ${current} ${t("of")} ${pages} · ${total}`),
    h("button", { id: "next", class: "secondary", disabled: current >= pages, onclick: () => move(offset + PAGE_SIZE) }, t("next")),
  ];
}

async function usageOptions() {
  const listed = await api("ListAlgorithms", {});
  const usages = [
    ...(listed.SymmetricAlgorithms || []), ...(listed.AsymmetricAlgorithms || []),
    ...(listed.AsymmetricSignVerifyAlgorithms || []),
  ].map((a) => a.KeyUsage);
  return [...new Set([...usages, ...POST_QUANTUM_USAGES])];
}

async function createPage() {
  const alias = h("input", { id: "create-alias", required: true });
  const description = h("input", { id: "create-description" });
  const usage = h("select", { id: "create-usage" }, h("option", { value: "ENCRYPT_DECRYPT" }, "ENCRYPT_DECRYPT"));
  const origin = h("select", { id: "create-origin" },
    h("option", { value: "1" }, t("kmsMade")), h("option", { value: "2" }, t("external")));
  const tags = h("input", { id: "create-tags", placeholder: t("tagsHint") });
  const submit = (event) => {
    event.preventDefault();
    run(async () => {
      const params = { Alias: alias.value.trim(), Description: description.value, KeyUsage: usage.value, Type: Number(origin.value) };
      const pairs = tags.value.split(",").map((p) => p.trim()).filter((p) => p.includes("="));
      if (pairs.length) params.Tags = pairs.map((p) => { const [k, v] = p.split("=", 2); return { TagKey: k.trim(), TagValue: v.trim() }; });
      const created = await api("CreateKey", params);
      location.hash = `#/key/${created.KeyId}`;
    });
  };
  frame(t("create"), h("form", { class: "form", onsubmit: submit },
    field(t("alias"), alias), field(t("description"), description), field(t("usage"), usage), field(t("origin"), origin),
    field(t("tags"), tags), h("div", { class: "row" }, h("button", { id: "create-submit", type: "submit" }, t("createSubmit")))));
  try {
    for (const u of await usageOptions()) if (u !== "ENCRYPT_DECRYPT") usage.append(h("option", { value: u }, u));
  } catch (error) {
    showError(error);
  }
}

function pendingDate(days) {
  return new Date(Date.now() + days * 86400 * 1000).toLocaleDateString(session.language === "zh" ? "zh-CN" : "en-GB");
}

async function keyPage(keyId) {
  frame(t("keys"), h("p", {}, t("loading")));
  let key;
  try {
    key = (await api("DescribeKey", { KeyId: keyId })).KeyMetadata;
  } catch (error) {
    showError(error);
    return;
  }
  // A policy may refuse some of these reads: the page shows what it may read, and the refusals.
  const refusals = [];
  const optional = (action, pick) => api(action, { KeyId: keyId }).then(pick).catch((error) => {
    refusals.push(error);
    return null;
  });
  const rotation = key.KeyUsage === "ENCRYPT_DECRYPT" && key.Origin !== "EXTERNAL"
    ? await optional("GetKeyRotationStatus", (r) => r) : null;
  const tags = await optional("ListKeyTags", (r) => r.Tags);  // OpenKMS extensions (README)
  const versions = await optional("ListKeyVersions", (r) => r.Versions);
  const act = (action, params, question) => () => run(async () => {
    if (question && !(await confirmed(question))) return;
    await api(action, { KeyId: keyId, ...(params || {}) });
    await keyPage(keyId);
    notice(t("done"));
  });
  const days = h("input", { id: "pending-days", type: "number", min: "7", max: "30", value: "7" });
  const actions = [];
  const state = key.KeyState;
  const asymmetric = key.KeyUsage !== "ENCRYPT_DECRYPT";
  if (state === "Disabled") actions.push(h("button", { id: "action-enable", onclick: act("EnableKey") }, t("enable")));
  if (state === "Enabled") {
    actions.push(h("button", { id: "action-disable", class: "danger", onclick: act("DisableKey", {}, t("confirmDisable", { id: keyId })) }, t("disable")));
    if (!asymmetric) actions.push(h("button", { id: "action-archive", class: "secondary", onclick: act("ArchiveKey", {}, t("confirmArchive", { id: keyId })) }, t("archive")));
  }
  if (state === "Archived") actions.push(h("button", { id: "action-cancel-archive", onclick: act("CancelKeyArchive") }, t("cancelArchive")));
  if (["Enabled", "Disabled", "PendingImport", "Archived"].includes(state)) {
    actions.push(h("span", { class: "group" }, field(t("pendingDays"), days), h("button", {
      id: "action-schedule-deletion", class: "danger",
      onclick: () => act("ScheduleKeyDeletion", { PendingWindowInDays: Number(days.value) },
        t("confirmDeletion", { id: keyId, date: pendingDate(Number(days.value)) }))(),
    }, t("scheduleDeletion"))));
  }
  if (state === "PendingDelete") actions.push(h("button", { id: "action-cancel-deletion", onclick: act("CancelKeyDeletion") }, t("cancelDeletion")));
  if (rotation && state === "Enabled") {
    actions.push(h("button", { id: "action-rotate", class: "secondary", onclick: act("RotateKey", {}, t("confirmRotate", { id: keyId })) }, t("rotateNow")));
    const period = h("input", { id: "rotation-days", type: "number", min: "7", max: "365", value: String(rotation.RotateDays || 365) });
    actions.push(rotation.KeyRotationEnabled
      ? h("button", { id: "action-rotation-off", class: "secondary", onclick: act("DisableKeyRotation", {}, t("confirmRotationOff", { id: keyId })) }, t("rotationOff"))
      : h("span", { class: "group" }, field(t("rotationDays"), period),
        h("button", { id: "action-rotation-on", class: "secondary", onclick: () => act("EnableKeyRotation", { RotateDays: Number(period.value) })() }, t("rotationOn"))));
  }
  if (asymmetric && state === "Enabled") {
    actions.push(h("button", {
      id: "action-public-key", class: "secondary",
      onclick: () => run(async () => download(`${key.Alias || keyId}.pem`, (await api("GetPublicKey", { KeyId: keyId })).PublicKeyPem)),
    }, t("publicKey")));
  }
  const editAlias = h("input", { id: "edit-alias", value: key.Alias });
  const editDescription = h("input", { id: "edit-description", value: key.Description });
  const facts = [
    [t("keyId"), h("span", { id: "key-id", class: "mono" }, key.KeyId)],
    [t("state"), h("span", { id: "key-state", class: `state ${state}` }, stateName(state))],
    [t("alias"), h("span", { id: "key-alias" }, key.Alias)],
    [t("description"), key.Description || "-"], [t("usage"), key.KeyUsage], [t("origin"), key.Origin],
    [t("created"), when(key.CreateTime)],
  ];
  if (state === "PendingDelete") facts.push([t("deletionDate"), h("span", { id: "deletion-date" }, when(key.DeletionDate))]);
  if (tags) facts.push([t("tags"), h("span", { id: "key-tags" }, tags.length ? tags.map((g) => `${g.TagKey}=${g.TagValue}`).join(", ") : "-")]);
  if (versions && versions.length) {
    facts.push([t("versionsList"), h("ol", { id: "key-versions", class: "versions" }, versions.map((v) =>
      h("li", {}, `v${v.Version} · ${when(v.CreateTime)}${v.Rotation ? ` · ${v.Rotation}` : ""}`)))]);
  }
  if (rotation) {
    facts.push([t("rotation"), h("span", { id: "rotation-state" }, rotation.KeyRotationEnabled ? `${t("enabled")} · ${rotation.RotateDays}d` : t("disabled"))]);
    facts.push([t("lastRotated"), when(rotation.LastRotateTime)], [t("nextRotation"), when(rotation.NextRotateTime)]);
  }
  const sections = [
    h("dl", { class: "facts" }, facts.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
    h("div", { class: "actions" }, actions),
    h("div", { class: "edits" },
      h("div", { class: "row" }, field(t("alias"), editAlias), h("button", { id: "save-alias", class: "secondary", onclick: () => act("UpdateAlias", { Alias: editAlias.value.trim() }, t("confirmAlias", { old: key.Alias, alias: editAlias.value.trim() }))() }, t("save"))),
      h("div", { class: "row" }, field(t("description"), editDescription), h("button", { id: "save-description", class: "secondary", onclick: () => act("UpdateKeyDescription", { Description: editDescription.value })() }, t("save")))),
  ];
  if (state === "PendingImport") sections.push(importSection(keyId));
  frame(key.Alias, ...sections);
  if (refusals.length) showError(refusals[0]);
}

function importSection(keyId) {
  const material = h("input", { id: "import-material", placeholder: "Base64" });
  const validTo = h("input", { id: "import-valid-to", type: "date" });
  const submit = () => run(async () => {
    const parameters = await api("GetParametersForImport", { KeyId: keyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" });
    const wrapping = await crypto.subtle.importKey("spki", bytesFromBase64(parameters.PublicKey), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, wrapping, bytesFromBase64(material.value.trim())));
    const params = { KeyId: keyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: btoa(String.fromCharCode(...sealed)) };
    if (validTo.value) params.ValidTo = Math.floor(new Date(validTo.value).getTime() / 1000);
    await api("ImportKeyMaterial", params);
    await keyPage(keyId);
    notice(t("done"));
  });
  return h("section", { class: "import" }, h("h2", {}, t("importTitle")), h("p", { class: "hint" }, t("importHint")),
    field(t("keyMaterial"), material), field(t("validTo"), validTo), h("button", { id: "import-submit", onclick: submit }, t("importSubmit")));
}

// ---- hosted data keys and white-box keys ------------------------------------------------------

// A button's work on a listing page: asked for confirmation when destructive, then the page again.
function acting(page) {
  return (action, params, question) => () => run(async () => {
    if (question && !(await confirmed(question))) return;
    await api(action, params);
    await page();
    notice(t("done"));
  });
}

async function dataKeysPage(offset = 0) {
  const body = h("tbody", {});
  const pager = h("div", { class: "pager" });
  frame(t("dataKeys"), h("div", { class: "scroll" }, h("table", { id: "datakeys-table" },
    h("thead", {}, h("tr", {}, [t("dataKeyName"), "DataKeyId", t("state"), t("keyId"), t("created"), ""].map((c) => h("th", {}, c)))), body)),
    pager);
  const act = acting(() => dataKeysPage(offset));
  await run(async () => {
    const listed = await api("ListDataKeyDetail", { Offset: offset, Limit: PAGE_SIZE });
    pager.replaceChildren(...pagerButtons(offset, listed.TotalCount, (moved) => dataKeysPage(moved)));
    const rows = listed.DataKeyMetadatas || [];
    body.replaceChildren(...rows.map((k) => h("tr", { "data-data-key-id": k.DataKeyId },
      h("td", {}, h("a", { href: `#/datakey/${k.DataKeyId}` }, k.DataKeyName)), h("td", { class: "mono" }, k.DataKeyId), h("td", {}, h("span", { class: `state ${k.KeyState}` }, stateName(k.KeyState))),
      h("td", { class: "mono" }, h("a", { href: `#/key/${k.KeyId}` }, k.KeyId)), h("td", {}, when(k.CreateTime)),
      h("td", { class: "row" },
        k.KeyState === "Enabled" ? h("button", { class: "secondary", onclick: act("DisableDataKey", { DataKeyId: k.DataKeyId }, t("confirmDataKeyDisable", { id: k.DataKeyId })) }, t("disable")) : null,
        k.KeyState === "Disabled" ? h("button", { class: "secondary", onclick: act("EnableDataKey", { DataKeyId: k.DataKeyId }) }, t("enable")) : null,
        k.KeyState === "PendingDelete"
          ? h("button", { class: "secondary", onclick: act("CancelDataKeyDeletion", { DataKeyId: k.DataKeyId }) }, t("cancelDeletion"))
          : h("button", { class: "danger", onclick: act("ScheduleDataKeyDeletion", { DataKeyId: k.DataKeyId, PendingWindowInDays: 7 }, t("confirmDataKeyDeletion", { id: k.DataKeyId, date: pendingDate(7) })) }, t("scheduleDeletion"))))));
    if (!rows.length) body.append(h("tr", {}, h("td", { colspan: 6 }, t("none"))));
  });
}

async function whiteBoxPage() {
  const body = h("tbody", {});
  frame(t("whiteBox"), h("div", { class: "scroll" }, h("table", { id: "whitebox-table" },
    h("thead", {}, h("tr", {}, [t("alias"), t("keyId"), t("state"), t("algorithm"), t("created"), ""].map((c) => h("th", {}, c)))), body)));
  const act = acting(whiteBoxPage);
  await run(async () => {
    const listed = await api("DescribeWhiteBoxKeyDetails", { Limit: 0 });
    const rows = listed.KeyInfos || [];
    body.replaceChildren(...rows.map((k) => h("tr", { "data-whitebox-key-id": k.KeyId },
      h("td", {}, h("a", { href: `#/whiteboxkey/${k.KeyId}` }, k.Alias)), h("td", { class: "mono" }, k.KeyId), h("td", {}, h("span", { class: `state ${k.Status}` }, stateName(k.Status))),
      h("td", {}, k.Algorithm), h("td", {}, when(k.CreateTime)),
      h("td", { class: "row" },
        k.Status === "Enabled"
          ? h("button", { class: "secondary", onclick: act("DisableWhiteBoxKey", { KeyId: k.KeyId }, t("confirmWhiteBoxDisable", { id: k.KeyId })) }, t("disable"))
          : [h("button", { class: "secondary", onclick: act("EnableWhiteBoxKey", { KeyId: k.KeyId }) }, t("enable")),
            h("button", { class: "danger", onclick: act("DeleteWhiteBoxKey", { KeyId: k.KeyId }, t("confirmWhiteBoxDelete", { id: k.KeyId })) }, t("deleteKey"))]))));
    if (!rows.length) body.append(h("tr", {}, h("td", { colspan: 6 }, t("none"))));
  });
}

function facts(rows) {
  return h("dl", { class: "facts" }, rows.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

async function dataKeyPage(dataKeyId) {
  frame(t("dataKeys"), h("p", {}, t("loading")));
  let dataKey;
  try {
    dataKey = (await api("DescribeDataKey", { DataKeyId: dataKeyId })).DataKeyMetadata;
  } catch (error) {
    showError(error);
    return;
  }
  const act = (action, params, question) => () => run(async () => {
    if (question && !(await confirmed(question))) return;
    await api(action, { DataKeyId: dataKeyId, ...(params || {}) });
    await dataKeyPage(dataKeyId);
    notice(t("done"));
  });
  const state = dataKey.KeyState;
  const days = h("input", { id: "data-key-days", type: "number", min: "7", max: "30", value: "7" });
  const name = h("input", { id: "edit-data-key-name", value: dataKey.DataKeyName });
  const description = h("input", { id: "edit-data-key-description", value: dataKey.Description });
  const actions = [];
  if (state === "Enabled") actions.push(h("button", { id: "data-key-disable", class: "danger", onclick: act("DisableDataKey", {}, t("confirmDataKeyDisable", { id: dataKeyId })) }, t("disable")));
  if (state === "Disabled") actions.push(h("button", { id: "data-key-enable", onclick: act("EnableDataKey") }, t("enable")));
  if (state === "PendingDelete") {
    actions.push(h("button", { id: "data-key-cancel-deletion", onclick: act("CancelDataKeyDeletion") }, t("cancelDeletion")));
  } else {
    actions.push(h("span", { class: "group" }, field(t("pendingDays"), days), h("button", {
      id: "data-key-schedule-deletion", class: "danger",
      onclick: () => act("ScheduleDataKeyDeletion", { PendingWindowInDays: Number(days.value) },
        t("confirmDataKeyDeletion", { id: dataKeyId, date: pendingDate(Number(days.value)) }))(),
    }, t("scheduleDeletion"))));
  }
  const rows = [
    ["DataKeyId", h("span", { id: "data-key-id", class: "mono" }, dataKey.DataKeyId)],
    [t("state"), h("span", { id: "data-key-state", class: `state ${state}` }, stateName(state))],
    [t("dataKeyName"), dataKey.DataKeyName], [t("description"), dataKey.Description || "-"],
    [t("keyId"), h("a", { href: `#/key/${dataKey.KeyId}`, class: "mono" }, dataKey.KeyId)],
    ["NumberOfBytes", String(dataKey.NumberOfBytes)], [t("origin"), dataKey.Origin], [t("created"), when(dataKey.CreateTime)],
  ];
  if (state === "PendingDelete") rows.push([t("deletionDate"), when(dataKey.DeletionDate)]);
  frame(dataKey.DataKeyName, facts(rows), h("div", { class: "actions" }, actions),
    h("div", { class: "edits" },
      h("div", { class: "row" }, field(t("dataKeyName"), name), h("button", { id: "save-data-key-name", class: "secondary", onclick: () => act("UpdateDataKeyName", { DataKeyName: name.value.trim() })() }, t("save"))),
      h("div", { class: "row" }, field(t("description"), description), h("button", { id: "save-data-key-description", class: "secondary", onclick: () => act("UpdateDataKeyDescription", { Description: description.value })() }, t("save")))));
}

async function whiteBoxKeyPage(keyId) {
  frame(t("whiteBox"), h("p", {}, t("loading")));
  let key;
  let fingerprints;
  try {
    key = (await api("DescribeWhiteBoxKey", { KeyId: keyId })).KeyInfo;
    fingerprints = (await api("DescribeWhiteBoxDeviceFingerprints", { KeyId: keyId })).DeviceFingerprints || [];
  } catch (error) {
    showError(error);
    return;
  }
  const act = (action, question, after) => () => run(async () => {
    if (question && !(await confirmed(question))) return;
    await api(action, { KeyId: keyId });
    if (after) after();
    else await whiteBoxKeyPage(keyId);
    notice(t("done"));
  });
  const actions = key.Status === "Enabled"
    ? [h("button", { id: "whitebox-disable", class: "danger", onclick: act("DisableWhiteBoxKey", t("confirmWhiteBoxDisable", { id: keyId })) }, t("disable")),
      h("button", { id: "whitebox-decrypt-key", class: "secondary", onclick: () => run(async () => download(`${key.Alias}.decrypt-key`, (await api("DescribeWhiteBoxDecryptKey", { KeyId: keyId })).DecryptKey)) }, t("decryptKey"))]
    : [h("button", { id: "whitebox-enable", onclick: act("EnableWhiteBoxKey") }, t("enable")),
      h("button", { id: "whitebox-delete", class: "danger", onclick: act("DeleteWhiteBoxKey", t("confirmWhiteBoxDelete", { id: keyId }), () => { location.hash = "#/whitebox"; }) }, t("deleteKey"))];
  frame(key.Alias, facts([
    [t("keyId"), h("span", { id: "whitebox-key-id", class: "mono" }, key.KeyId)],
    [t("state"), h("span", { id: "whitebox-state", class: `state ${key.Status}` }, stateName(key.Status))],
    [t("alias"), key.Alias], [t("description"), key.Description || "-"], [t("algorithm"), key.Algorithm],
    [t("created"), when(key.CreateTime)],
    [t("fingerprints"), fingerprints.length ? h("ul", { class: "versions" }, fingerprints.map((f) => h("li", {}, `${f.Identity}${f.Description ? ` · ${f.Description}` : ""}`))) : "-"],
  ]), h("div", { class: "actions" }, actions));
}

// ---- workbench --------------------------------------------------------------------------------

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A key named by its id, or by its alias (with or without "alias/"), as people name keys.
async function resolveKey(given) {
  const name = given.trim().replace(/^alias\//, "");
  if (KEY_ID.test(name)) return name;
  const listed = await api("ListKeyDetail", { SearchKeyAlias: name, KeyUsage: "ALL", Origin: "ALL", Limit: 100 });
  const found = (listed.KeyMetadatas || []).find((k) => k.Alias === name);
  if (!found) throw new ApiError("ResourceUnavailable.CmkNotFound", t("noSuchAlias", { alias: name }), "");
  return found.KeyId;
}

const SIGNING = {
  ASYMMETRIC_SIGN_VERIFY_RSA_2048: ["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256"],
  ASYMMETRIC_SIGN_VERIFY_ECC: ["ECC_P256_R1"],
  ASYMMETRIC_SIGN_VERIFY_ECDSA384: ["ECC_P384_R1"],
  ASYMMETRIC_SIGN_VERIFY_SM2: ["SM2DSA"],
};
const PQ_ENCRYPT = "PQC_ENCRYPT_DECRYPT_ML_KEM_768";
const PQ_SIGN = "PQC_SIGN_VERIFY_ML_DSA_65";

function workbenchPage() {
  const key = h("input", { id: "wb-key", placeholder: t("keyOrAlias") });
  const text = h("textarea", { id: "wb-text", rows: "3" });
  const context = h("input", { id: "wb-context", placeholder: '{"tenant":"acme"}' });
  const ciphertext = h("textarea", { id: "wb-ciphertext", rows: "3" });
  const plaintext = h("output", { id: "wb-plaintext" });
  const dataKeyOut = h("output", { id: "wb-datakey-out" });
  const algorithm = h("select", { id: "wb-sign-alg" }, SIGN_ALGORITHMS.map((a) => h("option", { value: a }, a)));
  const signature = h("textarea", { id: "wb-signature", rows: "2" });
  const verified = h("output", { id: "wb-verify-out" });
  // The chosen key, with its usage: post-quantum keys take their own actions, and each signing key
  // one family of algorithms.
  const chosen = async () => {
    const keyId = await resolveKey(key.value);
    return { keyId, usage: (await api("DescribeKey", { KeyId: keyId })).KeyMetadata.KeyUsage };
  };
  const withContext = (params) => (context.value.trim() ? { ...params, EncryptionContext: context.value.trim() } : params);
  const fitting = (usage) => {
    const algorithms = SIGNING[usage];
    if (algorithms && !algorithms.includes(algorithm.value)) algorithm.value = algorithms[0];
    return algorithm.value;
  };
  const encrypt = () => run(async () => {
    const { keyId, usage } = await chosen();
    ciphertext.value = usage === PQ_ENCRYPT
      ? (await api("PostQuantumCryptoEncrypt", { KeyId: keyId, PlainText: toBase64(text.value) })).CiphertextBlob
      : (await api("Encrypt", withContext({ KeyId: keyId, Plaintext: toBase64(text.value) }))).CiphertextBlob;
  });
  const decrypt = () => run(async () => {
    const pq = key.value.trim() && (await chosen()).usage === PQ_ENCRYPT;
    plaintext.value = pq
      ? shownText((await api("PostQuantumCryptoDecrypt", { CiphertextBlob: ciphertext.value.trim() })).PlainText)
      : shownText((await api("Decrypt", withContext({ CiphertextBlob: ciphertext.value.trim() }))).Plaintext);
  });
  const dataKey = () => run(async () => {
    const made = await api("GenerateDataKey", withContext({ KeyId: (await chosen()).keyId, KeySpec: "AES_256" }));
    dataKeyOut.value = `Plaintext ${made.Plaintext}\nCiphertextBlob ${made.CiphertextBlob}`;
  });
  const sign = () => run(async () => {
    const { keyId, usage } = await chosen();
    signature.value = usage === PQ_SIGN
      ? (await api("PostQuantumCryptoSign", { KeyId: keyId, Message: toBase64(text.value) })).Signature
      : (await api("SignByAsymmetricKey", { KeyId: keyId, Algorithm: fitting(usage), Message: toBase64(text.value), MessageType: "RAW" })).Signature;
  });
  const verify = () => run(async () => {
    const { keyId, usage } = await chosen();
    const answer = usage === PQ_SIGN
      ? await api("PostQuantumCryptoVerify", { KeyId: keyId, Message: toBase64(text.value), SignatureValue: signature.value.trim() })
      : await api("VerifyByAsymmetricKey", { KeyId: keyId, Algorithm: fitting(usage), Message: toBase64(text.value), MessageType: "RAW", SignatureValue: signature.value.trim() });
    verified.value = answer.SignatureValid ? t("valid") : t("invalid");
  });
  frame(t("workbench"),
    h("div", { class: "form" }, field(t("keyOrAlias"), key), field(t("plaintext"), text), field(t("context"), context),
      h("div", { class: "row" },
        h("button", { id: "wb-encrypt", onclick: encrypt }, t("encrypt")),
        h("button", { id: "wb-decrypt", class: "secondary", onclick: decrypt }, t("decrypt")),
        h("button", { id: "wb-datakey", class: "secondary", onclick: dataKey }, t("dataKey"))),
      field(t("ciphertext"), ciphertext), field(t("plaintext"), plaintext), field(t("dataKey"), dataKeyOut)),
    h("div", { class: "form" }, h("h2", {}, `${t("sign")} / ${t("verify")}`), field(t("algorithm"), algorithm),
      h("div", { class: "row" },
        h("button", { id: "wb-sign", onclick: sign }, t("sign")),
        h("button", { id: "wb-verify", class: "secondary", onclick: verify }, t("verify"))),
      field(t("signature"), signature), verified));
}

// ---- audit ------------------------------------------------------------------------------------

function auditPage() {
  const keyId = h("input", { id: "audit-key", placeholder: t("keyId") });
  const action = h("input", { id: "audit-action", placeholder: "Encrypt" });
  const result = h("select", { id: "audit-result" },
    h("option", { value: "" }, t("all")), h("option", { value: "Success" }, t("success")), h("option", { value: "Error" }, t("error")));
  const since = h("input", { id: "audit-since", type: "datetime-local" });
  const until = h("input", { id: "audit-until", type: "datetime-local" });
  const body = h("tbody", {});
  const more = h("button", { id: "audit-more", class: "secondary", hidden: true }, t("more"));
  let marker = 0;
  const search = (fresh) => run(async () => {
    const params = { Limit: 50 };
    if (keyId.value.trim()) params.KeyId = keyId.value.trim();
    if (action.value.trim()) params.AuditAction = action.value.trim();
    if (result.value) params.Result = result.value;
    if (since.value) params.StartTime = Math.floor(new Date(since.value).getTime() / 1000);
    if (until.value) params.EndTime = Math.floor(new Date(until.value).getTime() / 1000);
    if (fresh) marker = 0;
    if (!fresh && marker) params.Marker = marker;
    const found = await api("ListAuditEvents", params);
    if (fresh) body.replaceChildren();
    body.append(...found.Events.map((e) => h("tr", { class: e.Code === "Success" ? "" : "failed" },
      h("td", {}, when(e.Time)), h("td", {}, e.Action), h("td", { class: "mono" }, e.KeyIds.join(" ")), h("td", {}, e.Code),
      h("td", { class: "mono" }, e.SecretId), h("td", {}, e.Source))));
    if (fresh && !found.Events.length) body.append(h("tr", {}, h("td", { colspan: 6 }, t("none"))));
    marker = found.NextMarker;
    more.hidden = !marker;
  });
  more.onclick = () => search(false);
  frame(t("audit"),
    h("div", { class: "filters" }, field(t("keyId"), keyId), field(t("action"), action), field(t("result"), result),
      field(t("since"), since), field(t("until"), until), h("button", { id: "audit-search", onclick: () => search(true) }, t("search"))),
    h("div", { class: "scroll" }, h("table", { id: "audit-table" },
      h("thead", {}, h("tr", {}, [t("time"), t("action"), t("keyId"), t("code"), t("secretId"), t("source")].map((c) => h("th", {}, c)))), body)),
    more);
  search(true);
}

// ---- at a glance ------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function barChart(id, rows) {
  const width = 420, row = 26, labelWidth = 130, max = Math.max(1, ...rows.map((r) => r.value));
  const chart = svg("svg", { id, viewBox: `0 0 ${width} ${rows.length * row + 4}`, class: "chart", role: "img" });
  rows.forEach((r, i) => {
    const barWidth = ((width - labelWidth - 40) * r.value) / max;
    chart.append(svg("text", { x: 0, y: i * row + 17, class: "label" }, r.label),
      svg("rect", { x: labelWidth, y: i * row + 4, width: Math.max(barWidth, 1), height: row - 8, class: `bar ${r.kind || ""}` }),
      svg("text", { x: labelWidth + barWidth + 6, y: i * row + 17, class: "value" }, r.value));
  });
  return chart;
}

function sparkline(buckets, errors) {
  const width = 240, height = 36, max = Math.max(1, ...buckets);
  const points = (values) => values.map((v, i) => `${(i * width) / (values.length - 1)},${height - 2 - ((height - 4) * v) / max}`).join(" ");
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark" },
    svg("polyline", { points: points(buckets), class: "line" }), svg("polyline", { points: points(errors), class: "line errors" }));
}

async function glancePage() {
  const states = h("div", { id: "glance-states" }, t("loading"));
  const actions = h("div", { id: "glance-actions" }, t("loading"));
  frame(t("glance"), h("section", {}, h("h2", {}, t("keysByState")), states),
    h("section", {}, h("h2", {}, t("requestsPerAction")), actions));
  await run(async () => {
    const counts = await Promise.all(STATES.map(async (s) =>
      (await api("ListKeyDetail", { KeyState: STATE_FILTER[s], Limit: 1, KeyUsage: "ALL", Origin: "ALL" })).TotalCount));
    states.replaceChildren(barChart("chart-states", STATES.map((s, i) => ({ label: stateName(s), value: counts[i], kind: s }))));
    const now = Math.floor(Date.now() / 1000), start = now - 3600, bucketSeconds = 300;
    const perAction = new Map();
    let marker = 0;
    for (let page = 0; page < 20; page++) {
      const params = { StartTime: start, Limit: 100 };
      if (marker) params.Marker = marker;
      const found = await api("ListAuditEvents", params);
      for (const e of found.Events) {
        const entry = perAction.get(e.Action) || { total: 0, errors: 0, buckets: new Array(12).fill(0), failed: new Array(12).fill(0) };
        const bucket = Math.min(11, Math.max(0, Math.floor((e.Time - start) / bucketSeconds)));
        entry.total += e.Count; entry.buckets[bucket] += e.Count;
        if (e.Code !== "Success") { entry.errors += e.Count; entry.failed[bucket] += e.Count; }
        perAction.set(e.Action, entry);
      }
      marker = found.NextMarker;
      if (!marker) break;
    }
    const capped = marker ? h("p", { class: "hint", id: "glance-capped" }, t("glanceCapped")) : null;
    const sorted = [...perAction.entries()].sort((a, b) => b[1].total - a[1].total);
    const heading = h("thead", {}, h("tr", {}, [t("action"), t("requests"), t("errors"), t("lastHour")].map((c) => h("th", {}, c))));
    actions.replaceChildren(sorted.length ? h("div", { class: "scroll" }, h("table", { class: "glance" }, heading, h("tbody", {}, sorted.map(([name, entry]) => h("tr", { "data-action": name },
      h("td", {}, name), h("td", {}, String(entry.total)), h("td", { class: entry.errors ? "failed" : "" }, String(entry.errors)),
      h("td", {}, sparkline(entry.buckets, entry.failed))))))) : h("p", {}, t("none")), capped || "");
  });
}

// ---- routing ----------------------------------------------------------------------------------

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function route() {
  document.title = t("title");
  if (!session.credential) {
    signInPage();
    return;
  }
  const [page, argument] = location.hash.slice(2).split("/");
  const pages = {
    keys: keysPage, create: createPage, key: () => keyPage(safeDecode(argument || "")), datakeys: dataKeysPage,
    datakey: () => dataKeyPage(safeDecode(argument || "")), whiteboxkey: () => whiteBoxKeyPage(safeDecode(argument || "")),
    whitebox: whiteBoxPage, workbench: workbenchPage, audit: auditPage, glance: glancePage,
  };
  (pages[page] || keysPage)();
}

window.addEventListener("hashchange", route);
document.documentElement.lang = session.language === "zh" ? "zh-CN" : "en";
route();
