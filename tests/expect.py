"""What tests expect of a refused AWS call: the modelled error code, its HTTP status, and a message
that says why."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

STATUS = {"ValidationException": 400, "BadRequestException": 400, "ResourceNotFoundException": 404,
          "ConflictException": 409, "InvalidCampaignStateException": 409, "InvalidStateException": 409,
          "ServiceQuotaExceededException": 402, "InvalidRequestException": 400, "InvalidParameterException": 400,
          "InvalidContactFlowException": 400, "IdempotencyException": 409, "DuplicateResourceException": 409,
          "ContactNotFoundException": 410, "OutboundContactNotPermittedException": 403,
          "ContactFlowNotPublishedException": 404, "LimitExceededException": 429}


@contextmanager
def aws_error(code: str, mentions: str | None = None):
    """Expects the modelled error `code` with its HTTP status; yields the excinfo for extra checks."""
    with pytest.raises(ClientError) as caught:
        yield caught
    response = caught.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == STATUS[code], response
    if mentions is not None:
        assert mentions in response["Error"]["Message"], response["Error"]["Message"]
