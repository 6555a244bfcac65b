"""The AWS wire layer: bytes <-> (service, operation, params), driven by botocore's service models.

It knows no campaigns: providers register handlers per (service, operation) and raise AwsError.
"""
