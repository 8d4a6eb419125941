"""The S3-compatible store on loopback (``tests/s3.py``), for the importers' S3 tests."""

from tests.s3 import s3_endpoint, s3_lake_url

__all__ = ["s3_endpoint", "s3_lake_url"]
