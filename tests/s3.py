"""An S3-compatible store on loopback: moto's server, one fresh bucket per test.

The server is moto's ``ThreadedMotoServer`` on 127.0.0.1 (a real HTTP endpoint, as MinIO
or Ceph would be); boto3 takes its dummy credentials from the environment, as it would
in a deployment. A folder's ``conftest.py`` imports these fixtures to use them; a test
that asks for them skips when moto is not installed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.delenv("AWS_PROFILE", raising=False)
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_lake_url(s3_endpoint: str) -> str:
    """``s3://<fresh bucket>/lake``."""
    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/lake"


def bucket_keys(url: str, endpoint: str) -> dict[str, bytes]:
    """Every object under the lake's ``s3://bucket/prefix``, read with plain boto3."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed
    }
