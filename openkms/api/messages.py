"""Error messages in the client's language: `X-TC-Language` (v1: `Language`), zh-CN or en-US, as the
SDKs send it; zh-CN when absent, as Tencent Cloud answers.

One table gives each error code its meaning in both languages. An en-US answer is the server's own
sentence, which names the key, the limit or the field at fault; a zh-CN answer is the code's meaning in
Chinese followed by that sentence, so nothing specific is lost in either.
"""

import re
from collections.abc import Mapping
from types import MappingProxyType

LANGUAGES = ("zh-CN", "en-US")
DEFAULT_LANGUAGE = "zh-CN"

MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # code: (en-US, zh-CN)
        "AuthFailure.InvalidAuthorization": (
            "The Authorization header is malformed.",
            "请求头部的 Authorization 不符合腾讯云标准",
        ),
        "AuthFailure.SecretIdNotFound": ("The SecretId does not exist.", "密钥不存在"),
        "AuthFailure.SignatureExpire": ("The signature has expired.", "签名过期"),
        "AuthFailure.SignatureFailure": ("The signature is wrong.", "签名错误"),
        "AuthFailure.TokenFailure": ("The token is wrong.", "token 错误"),
        "FailedOperation": ("The operation failed.", "操作失败"),
        "FailedOperation.CmkUsedByCloudProduct": ("The key is used by a cloud resource.", "CMK 正在被云产品使用"),
        "FailedOperation.DecryptError": ("Decryption failed.", "解密失败"),
        "FailedOperation.RotateTaskRunning": ("A rotation of this key is in progress.", "密钥轮换任务正在进行中"),
        "InternalError": ("Internal error.", "内部错误"),
        "InvalidAction": ("The action does not exist.", "接口不存在"),
        "InvalidParameter": ("A parameter is wrong.", "参数错误"),
        "InvalidParameter.DecryptMaterialError": ("The key material does not decrypt.", "导入的密钥材料解密失败"),
        "InvalidParameter.InvalidPendingWindowInDays": (
            "The pending window is out of range.",
            "PendingWindowInDays 参数取值不合法",
        ),
        "InvalidParameterValue": ("A parameter value is wrong.", "参数取值错误"),
        "InvalidParameterValue.AliasAlreadyExists": ("The alias is already in use.", "别名已经存在"),
        "InvalidParameterValue.DataKeyNameAlreadyExists": (
            "The data key name is already in use.",
            "数据密钥名称已经存在",
        ),
        "InvalidParameterValue.DuplicatedDataKeyId": ("A data key id is repeated.", "存在重复的数据密钥 ID"),
        "InvalidParameterValue.DuplicatedKeyId": ("A key id is repeated.", "存在重复的 KeyId"),
        "InvalidParameterValue.InvalidAlias": ("The alias is invalid.", "别名格式错误"),
        "InvalidParameterValue.InvalidCiphertext": ("The ciphertext is invalid.", "密文格式错误"),
        "InvalidParameterValue.InvalidDataKeyId": ("The data key id is invalid.", "数据密钥 ID 格式错误"),
        "InvalidParameterValue.InvalidDataKeyName": ("The data key name is invalid.", "数据密钥名称格式错误"),
        "InvalidParameterValue.InvalidHsmClusterId": ("The HSM cluster id is invalid.", "HsmClusterId 无效"),
        "InvalidParameterValue.InvalidImportKeyMaterial": (
            "The imported key material is invalid.",
            "导入的密钥材料无效",
        ),
        "InvalidParameterValue.InvalidKeyId": ("The key id is invalid.", "KeyId 格式错误"),
        "InvalidParameterValue.InvalidKeyUsage": ("The key usage is invalid.", "KeyUsage 参数错误"),
        "InvalidParameterValue.InvalidPlaintext": ("The plaintext is invalid.", "明文格式错误或长度超限"),
        "InvalidParameterValue.InvalidType": ("The key type is invalid.", "Type 参数取值错误"),
        "InvalidParameterValue.MaterialNotMatch": (
            "The key material differs from the material imported before.",
            "导入的密钥材料与之前导入的不一致",
        ),
        "InvalidParameterValue.TagKeysDuplicated": ("A tag key is repeated.", "标签键重复"),
        "InvalidParameterValue.TagsNotExisted": ("The tag does not exist.", "标签不存在"),
        "LimitExceeded": ("A quota is used up.", "超过配额限制"),
        "LimitExceeded.CmkLimitExceeded": ("The key quota is used up.", "密钥数量超过限制"),
        "LimitExceeded.DataKeyLimitExceeded": ("The data key quota is used up.", "数据密钥数量超过限制"),
        "LimitExceeded.FingerprintsLimitExceeded": ("Too many device fingerprints.", "设备指纹数量超过限制"),
        "LimitExceeded.KeyLimitExceeded": ("The white-box key quota is used up.", "白盒密钥数量超过限制"),
        "MissingParameter": ("A required parameter is missing.", "缺少参数错误"),
        "NoSuchVersion": ("The API version does not exist.", "接口版本不存在"),
        "RequestLimitExceeded": ("Too many requests.", "请求的次数超过了频率限制"),
        "RequestLimitExceeded.RotateRateLimited": (
            "The key was rotated too recently.",
            "密钥轮换频率超过限制",
        ),
        "RequestSizeLimitExceeded": ("The request is too large.", "请求包超过限制大小"),
        "ResourceUnavailable.CmkArchived": ("The key is archived.", "CMK 已被归档"),
        "ResourceUnavailable.CmkDisabled": ("The key is disabled.", "CMK 已被禁用"),
        "ResourceUnavailable.CmkNotFound": ("The key does not exist.", "CMK 不存在"),
        "ResourceUnavailable.CmkNotPendingDelete": ("The key is not pending deletion.", "CMK 不是计划删除状态"),
        "ResourceUnavailable.CmkShouldBeDisabled": ("The key must be disabled first.", "CMK 只有在禁用状态才能操作"),
        "ResourceUnavailable.CmkStateNotSupport": (
            "The key's state does not allow this.",
            "CMK 当前状态不支持此操作",
        ),
        "ResourceNotFound": ("The resource does not exist.", "资源不存在"),
        "ResourceUnavailable.CloudResourceBindingNotFound": (
            "The key is not bound to this cloud resource.",
            "密钥与云产品资源的绑定关系不存在",
        ),
        "ResourceUnavailable.DataKeyDisabled": ("The data key is disabled.", "数据密钥已被禁用"),
        "ResourceUnavailable.DataKeyNotFound": ("The data key does not exist.", "数据密钥不存在"),
        "ResourceUnavailable.DataKeyNotPendingDelete": (
            "The data key is not pending deletion.",
            "数据密钥不是计划删除状态",
        ),
        "ResourceUnavailable.DataKeyPendingDelete": ("The data key is pending deletion.", "数据密钥处于计划删除状态"),
        "ResourceUnavailable.DataKeyStateNotSupport": (
            "The data key's state does not allow this.",
            "数据密钥当前状态不支持此操作",
        ),
        "ResourceUnavailable.KeyDisabled": ("The key is disabled.", "密钥已被禁用"),
        "ResourceUnavailable.TokenExpired": ("The import token has expired.", "导入令牌已过期"),
        "UnauthorizedOperation": ("The operation is not authorized.", "未授权操作"),
        "UnknownParameter": ("A parameter is not known.", "未知参数错误"),
        "UnsupportedOperation": ("The operation is not supported.", "操作不支持"),
        "UnsupportedOperation.ExternalCmkCanNotRotate": (
            "A key with imported material cannot be rotated.",
            "外部导入的 CMK 不支持轮换",
        ),
        "UnsupportedOperation.NotExternalCmk": ("The key's material is not imported.", "CMK 不是外部导入的密钥"),
        "UnsupportedOperation.ServiceTemporaryUnavailable": (
            "The service is temporarily unavailable.",
            "服务暂时不可用",
        ),
        "UnsupportedOperation.UnsupportedKeyUsageInCurrentRegion": (
            "The key usage is not supported here.",
            "当前地域不支持该密钥用途",
        ),
        "UnsupportedProtocol": ("The HTTP method or protocol is not supported.", "HTTP 请求方法或协议不支持"),
        "UnsupportedRegion": ("The region is not served.", "接口不支持所传地域"),
    }
)

_V1_LANGUAGE = re.compile(r"(?:^|&)Language=([A-Za-z-]{5})(?:&|$)")


def requested_language(header: str | None, form_or_query: str | None) -> str:
    """The language asked for: the X-TC-Language header, else a v1 request's Language field."""
    if header in LANGUAGES:
        return header
    if form_or_query:
        found = _V1_LANGUAGE.search(form_or_query)
        if found and found.group(1) in LANGUAGES:
            return found.group(1)
    return DEFAULT_LANGUAGE


def localized(code: str, detail: str, language: str) -> str:
    """The message of an error with `code`, whose specifics `detail` says in English."""
    en, zh = MESSAGES.get(code, ("", ""))
    detail = detail or en
    if language == "zh-CN" and zh:
        return f"{zh}（{detail}）" if detail else zh
    return detail
