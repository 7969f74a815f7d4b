"""Every error code the server answers has its meaning in both languages the SDKs ask for."""

import re
from pathlib import Path

import pytest

import openkms
from openkms.api.errors import DOMAIN_CODES
from openkms.api.messages import MESSAGES, localized, requested_language

SOURCE = Path(openkms.__file__).parent
_RAISED_CODE = re.compile(r'(?:ApiError\(|_error\(exchange, |refuse\()\s*"([A-Z][A-Za-z]*(?:\.[A-Za-z]+)*)"')


def codes_the_server_answers() -> set[str]:
    found = set(DOMAIN_CODES.values())
    for path in SOURCE.rglob("*.py"):
        if "aws" in path.relative_to(SOURCE).parts:
            continue  # AWS's error types, answered in English as AWS KMS answers them
        found.update(_RAISED_CODE.findall(path.read_text()))
    return found


def test_every_code_the_server_answers_has_both_languages() -> None:
    codes = codes_the_server_answers()
    assert len(codes) > 50
    assert sorted(codes - set(MESSAGES)) == []
    for code, (english, chinese) in MESSAGES.items():
        assert english and chinese, code
        assert re.search(r"[\u4e00-\u9fff]", chinese), code


@pytest.mark.parametrize(
    ("header", "v1_fields", "language"),
    [
        ("en-US", None, "en-US"),
        ("zh-CN", None, "zh-CN"),
        (None, None, "zh-CN"),  # Tencent Cloud's default
        ("fr-FR", None, "zh-CN"),
        (None, "Action=GetRegions&Language=en-US&Nonce=1", "en-US"),
        (None, "Language=en-US", "en-US"),
        (None, "XLanguage=en-US", "zh-CN"),
    ],
)
def test_the_language_is_the_header_or_the_v1_field(header: str | None, v1_fields: str | None, language: str) -> None:
    assert requested_language(header, v1_fields) == language


def test_chinese_keeps_the_specifics_and_english_is_the_servers_sentence() -> None:
    detail = "Key 1234 is disabled."
    assert localized("ResourceUnavailable.CmkDisabled", detail, "en-US") == detail
    assert localized("ResourceUnavailable.CmkDisabled", detail, "zh-CN") == f"CMK 已被禁用（{detail}）"
