"""Calling the official SDK by action name, the way an application would."""

import json
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.kms.v20190118 import kms_client, models


def call(client: kms_client.KmsClient, action: str, **fields: Any) -> dict[str, Any]:
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(fields))
    response = getattr(client, action)(request)
    result: dict[str, Any] = json.loads(response.to_json_string())
    return result


def error_of(client: kms_client.KmsClient, action: str, **fields: Any) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, action, **fields)
    return caught.value


def code_of(client: kms_client.KmsClient, action: str, **fields: Any) -> str:
    code: str = error_of(client, action, **fields).get_code()
    return code


def outcome_of(client: kms_client.KmsClient, action: str, **fields: Any) -> str:
    """ "Success", or the error code: for checks that wait for a server to come (or go) back."""
    try:
        call(client, action, **fields)
    except TencentCloudSDKException as refused:
        return str(refused.get_code())
    return "Success"
