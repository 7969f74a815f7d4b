"""The web console in a real browser (Debian's Chromium, driven by Selenium through its ChromeDriver):
a user signs in with a credential, manages and uses keys, and reads the audit trail, and every refusal
shows the API's error code. Screenshots of the main pages go to build/console-screenshots/."""

import base64
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.sdk import call
from tests.serverproc import Server

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
WAIT_SECONDS = 15


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


class Console:
    """The console as its user sees it: fields filled, buttons clicked, text read."""

    def __init__(self, driver: Any, server: Server) -> None:
        self.driver = driver
        self.server = server

    def wait(self, condition: Any) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition)

    def element(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions

        return self.wait(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def text_of(self, css: str, contains: str) -> str:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions

        self.wait(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), contains))
        return str(self.element(css).text)

    def type(self, css: str, text: str) -> None:
        field = self.element(css)
        field.clear()
        field.send_keys(text)

    def click(self, css: str) -> None:
        self.element(css).click()

    def open(self, page: str = "") -> None:
        self.driver.get(f"http://{self.server.endpoint}/console/{page}")

    def sign_in(self, secret: dict[str, str]) -> None:
        self.open()
        self.type("#secret-id", secret["SecretId"])
        self.type("#secret-key", secret["SecretKey"])
        self.click("#sign-in")
        self.element("#nav-keys")

    def go(self, route: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", f"#/{route}")

    def confirm(self) -> None:
        self.click("#confirm-yes")

    def error(self, code: str) -> str:
        return self.text_of("#error", code)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def console(browser: Any, fresh_server: Server) -> Console:
    return Console(browser, fresh_server)


def test_the_console_is_served_on_the_api_origin_with_a_strict_policy(fresh_server: Server) -> None:
    with urllib.request.urlopen(f"http://{fresh_server.endpoint}/console/", timeout=10) as answer:
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert b'<script type="module" src="app.js">' in answer.read()


def test_a_wrong_secret_key_is_refused_with_the_signature_error(console: Console) -> None:
    secret = console.server.first_credential()
    console.open()
    console.type("#secret-id", secret["SecretId"])
    console.type("#secret-key", "not-the-secret-key")
    console.click("#sign-in")
    assert "AuthFailure.SignatureFailure" in console.error("AuthFailure.SignatureFailure")


def test_a_key_is_created_found_disabled_refused_scheduled_and_restored(console: Console) -> None:
    console.sign_in(console.server.first_credential())
    console.screenshot("keys-empty")
    console.go("create")
    console.type("#create-alias", "console-made")
    console.type("#create-description", "made in the browser")
    console.type("#create-tags", "team=payments, env=test")
    console.click("#create-submit")
    key_id = console.text_of("#key-id", "-")
    assert console.text_of("#key-state", "Enabled")
    assert console.text_of("#key-tags", "team") == "env=test, team=payments"
    console.click("#action-rotate")
    console.confirm()
    assert "ON_DEMAND" in console.text_of("#key-versions", "v2")
    console.screenshot("key")

    console.go("keys")
    console.text_of("#keys-table", key_id)
    console.screenshot("keys")

    console.go(f"key/{key_id}")
    console.click("#action-disable")
    console.confirm()
    console.text_of("#key-state", "Disabled")
    console.go("workbench")
    console.type("#wb-key", key_id)
    console.type("#wb-text", "refused while disabled")
    console.click("#wb-encrypt")
    assert "ResourceUnavailable.CmkDisabled" in console.error("ResourceUnavailable.CmkDisabled")

    console.go(f"key/{key_id}")
    console.type("#pending-days", "7")
    console.click("#action-schedule-deletion")
    assert key_id in console.text_of("#confirm-text", key_id)
    console.confirm()
    console.text_of("#key-state", "Pending")
    assert call(console.server.client(), "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDelete"
    console.click("#action-cancel-deletion")
    console.text_of("#key-state", "Disabled")
    console.click("#action-enable")
    console.text_of("#key-state", "Enabled")


def test_the_workbench_encrypts_decrypts_and_signs_with_keys_named_by_alias(console: Console) -> None:
    admin = console.server.client()
    call(admin, "CreateKey", Alias="workbench")
    call(admin, "CreateKey", Alias="signer", KeyUsage="ASYMMETRIC_SIGN_VERIFY_ECC")
    call(admin, "CreateKey", Alias="pq-signer", KeyUsage="PQC_SIGN_VERIFY_ML_DSA_65")
    call(admin, "CreateKey", Alias="pq-box", KeyUsage="PQC_ENCRYPT_DECRYPT_ML_KEM_768")
    console.sign_in(console.server.first_credential())
    console.go("workbench")
    console.type("#wb-key", "workbench")
    console.type("#wb-text", "hello, 你好")
    console.type("#wb-context", '{"tenant":"acme"}')
    console.click("#wb-encrypt")
    console.wait(lambda driver: driver.find_element("css selector", "#wb-ciphertext").get_attribute("value"))
    console.click("#wb-decrypt")
    assert console.text_of("#wb-plaintext", "hello") == "hello, 你好"
    console.screenshot("workbench")
    for signer in ("alias/signer", "pq-signer"):  # the algorithm follows the key; ML-DSA has actions of its own
        console.type("#wb-key", signer)
        console.click("#wb-sign")
        console.wait(lambda driver: driver.find_element("css selector", "#wb-signature").get_attribute("value"))
        console.click("#wb-verify")
        assert console.text_of("#wb-verify-out", "valid") == "Signature valid"
        console.driver.execute_script("document.getElementById('wb-signature').value = ''")
    console.type("#wb-key", "pq-box")
    console.type("#wb-context", " ")
    console.click("#wb-encrypt")
    console.wait(lambda driver: driver.find_element("css selector", "#wb-ciphertext").get_attribute("value"))
    console.driver.execute_script("document.getElementById('wb-plaintext').value = ''")
    console.click("#wb-decrypt")
    assert console.text_of("#wb-plaintext", "hello") == "hello, 你好"
    console.type("#wb-key", "no-such-alias")
    console.click("#wb-encrypt")
    assert "ResourceUnavailable.CmkNotFound" in console.error("CmkNotFound")


def test_key_material_is_imported_from_the_browser(console: Console) -> None:
    console.sign_in(console.server.first_credential())
    console.go("create")
    console.type("#create-alias", "imported-in-browser")
    console.element("#create-origin").send_keys(Keys.END)  # the last choice: imported material
    console.click("#create-submit")
    key_id = console.text_of("#key-id", "-")
    console.text_of("#key-state", "Pending")
    console.type("#import-material", base64.b64encode(os.urandom(32)).decode())
    console.click("#import-submit")
    console.text_of("#key-state", "Enabled")
    sealed = call(console.server.client(), "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(b"x").decode())
    assert sealed["KeyId"] == key_id


def test_hosted_data_keys_and_white_box_keys_are_listed_and_disabled(console: Console) -> None:
    admin = console.server.client()
    key_id = call(admin, "CreateKey", Alias="holder")["KeyId"]
    made = call(admin, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName="kept")
    whitebox = call(admin, "CreateWhiteBoxKey", Alias="device", Algorithm="SM4")["KeyId"]
    console.sign_in(console.server.first_credential())
    console.go("datakeys")
    console.text_of("#datakeys-table", "kept")
    console.click(f'tr[data-data-key-id="{made["DataKeyId"]}"] button')
    assert made["DataKeyId"] in console.text_of("#confirm-text", "Disable")
    console.confirm()
    console.text_of(f'tr[data-data-key-id="{made["DataKeyId"]}"]', "Disabled")
    assert call(admin, "DescribeDataKey", DataKeyId=made["DataKeyId"])["DataKeyMetadata"]["KeyState"] == "Disabled"
    console.go("whitebox")
    console.click(f'tr[data-whitebox-key-id="{whitebox}"] button')
    console.confirm()
    console.text_of(f'tr[data-whitebox-key-id="{whitebox}"]', "Disabled")
    assert call(admin, "DescribeWhiteBoxKey", KeyId=whitebox)["KeyInfo"]["Status"] == "Disabled"


def test_a_data_keys_and_a_white_box_keys_own_pages(console: Console) -> None:
    admin = console.server.client()
    key_id = call(admin, "CreateKey", Alias="holder")["KeyId"]
    made = call(admin, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName="details")
    whitebox = call(admin, "CreateWhiteBoxKey", Alias="device", Algorithm="SM4")["KeyId"]
    console.sign_in(console.server.first_credential())
    console.go(f"datakey/{made['DataKeyId']}")
    console.type("#edit-data-key-name", "renamed")
    console.click("#save-data-key-name")
    console.text_of("h1", "renamed")
    console.type("#data-key-days", "10")
    console.click("#data-key-schedule-deletion")
    console.confirm()
    console.text_of("#data-key-state", "Pending")
    described = call(admin, "DescribeDataKey", DataKeyId=made["DataKeyId"])["DataKeyMetadata"]
    assert (described["DataKeyName"], described["KeyState"]) == ("renamed", "PendingDelete")
    console.click("#data-key-cancel-deletion")
    console.text_of("#data-key-state", "Disabled")
    console.go(f"whiteboxkey/{whitebox}")
    console.click("#whitebox-disable")
    console.confirm()
    console.click("#whitebox-delete")
    console.confirm()
    console.text_of("#whitebox-table", "Nothing yet.")
    assert call(admin, "DescribeWhiteBoxKeyDetails")["TotalCount"] == 0


def test_a_policy_that_denies_disabling_shows_the_refusal_and_leaves_the_key(console: Console, tmp_path: Path) -> None:
    admin = console.server.client()
    key_id = call(admin, "CreateKey", Alias="guarded")["KeyId"]
    secret = create_credential(console.server)
    statements: list[dict[str, object]] = [
        {"effect": "allow", "action": ["kms:*"], "resource": "*"},
        {"effect": "deny", "action": ["kms:DisableKey"], "resource": key_resource(key_id)},
    ]
    attach(console.server, secret["SecretId"], "no-disable", statements, tmp_path)
    console.sign_in(secret)
    console.go(f"key/{key_id}")
    console.click("#action-disable")
    console.confirm()
    assert "UnauthorizedOperation" in console.error("UnauthorizedOperation")
    assert call(admin, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_the_audit_page_shows_the_events_just_caused_and_the_glance_charts_them(console: Console) -> None:
    key_id = call(console.server.client(), "CreateKey", Alias="audited")["KeyId"]
    console.sign_in(console.server.first_credential())
    console.go(f"key/{key_id}")
    console.click("#action-disable")
    console.confirm()
    console.text_of("#key-state", "Disabled")
    console.go("audit")
    console.type("#audit-key", key_id)
    console.click("#audit-search")
    table = console.text_of("#audit-table", "DisableKey")
    assert "CreateKey" in table or "DescribeKey" in table
    console.screenshot("audit")
    console.go("glance")
    console.element("#chart-states")
    console.text_of("#glance-actions", "DisableKey")
    console.screenshot("glance")


def test_the_console_works_at_a_phones_width_and_in_chinese(console: Console) -> None:
    call(console.server.client(), "CreateKey", Alias="phone")
    console.driver.set_window_size(390, 844)
    console.sign_in(console.server.first_credential())
    console.text_of("#keys-table", "phone")
    for page in ("keys", "create", "datakeys", "whitebox", "workbench", "audit", "glance"):
        console.go(page)
        console.element("main h1")
        if page == "glance":
            console.element("#chart-states")
            console.text_of("#glance-actions", "ListKeyDetail")
        overflow = console.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {page} page is {overflow}px wider than the phone's screen"
    console.go("keys")
    console.text_of("#keys-table", "phone")
    console.click("#lang")
    assert console.text_of("#nav-keys", "密钥") == "密钥"
    console.screenshot("keys-phone-zh")
    console.click("#lang")


def test_the_console_can_be_turned_off(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--console", "off")).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://{server.endpoint}/console/", timeout=10)
        assert refused.value.code in (404, 405)
    finally:
        server.stop()


def audit_events(client: Any, **fields: Any) -> list[dict[str, Any]]:
    """ListAuditEvents through the SDK's generic call (the SDK has no model for OpenKMS's extension)."""
    events: list[dict[str, Any]] = client.call_json("ListAuditEvents", fields)["Response"]["Events"]
    return events


def test_list_audit_events_is_an_authorized_audited_extension(fresh_server: Server, tmp_path: Path) -> None:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="extension")["KeyId"]
    call(admin, "DisableKey", KeyId=key_id)
    assert [e["Action"] for e in audit_events(admin, KeyId=key_id, Limit=10)][:2] == ["DisableKey", "CreateKey"]
    assert all(e["Code"] != "Success" for e in audit_events(admin, Result="Error"))
    secret = create_credential(fresh_server)
    encrypt_only = [{"effect": "allow", "action": ["kms:Encrypt"], "resource": "*"}]
    attach(fresh_server, secret["SecretId"], "no-audit", encrypt_only, tmp_path)
    with pytest.raises(TencentCloudSDKException) as refused:
        audit_events(fresh_server.client(secret))
    assert refused.value.get_code() == "UnauthorizedOperation"
    assert audit_events(admin, AuditAction="ListAuditEvents", Limit=5), "reading the trail is itself audited"


def test_the_audit_trail_is_the_callers_account_whole_and_pages(fresh_server: Server, tmp_path: Path) -> None:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    admin = fresh_server.client()
    for i in range(5):
        call(admin, "CreateKey", Alias=f"paged-{i}")
    first = admin.call_json("ListAuditEvents", {"AuditAction": "CreateKey", "Limit": 3})["Response"]
    rest = admin.call_json("ListAuditEvents", {"AuditAction": "CreateKey", "Limit": 3, "Marker": first["NextMarker"]})
    assert len(first["Events"]) == 3 and len(rest["Response"]["Events"]) == 2
    other_account = fresh_server.client(create_credential(fresh_server, account="100000000002"))
    assert [e for e in audit_events(other_account) if e["Action"] == "CreateKey"] == []
    secret = create_credential(fresh_server)
    one_region = [{"effect": "allow", "action": ["kms:List*"], "resource": "qcs::kms:ap-guangzhou:uin/*"}]
    attach(fresh_server, secret["SecretId"], "one-region", one_region, tmp_path)
    with pytest.raises(TencentCloudSDKException) as refused:
        audit_events(fresh_server.client(secret))
    assert refused.value.get_code() == "UnauthorizedOperation", (
        "a policy of one region does not reach every region's trail"
    )
