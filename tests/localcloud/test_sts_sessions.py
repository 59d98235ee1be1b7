"""Role sessions with session tags, and S3 requests they sign, on the local cloud
(tapcase/localcloud/sts_sessions.py): what EvidenceUploadRole's credentials may do."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from tapcase.localcloud import patches, sts_sessions

patches.apply_all()

BUCKET = "evidence"
TAG = "tapcase:investigation-id"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
        "Resource": [f"arn:aws:s3:::{BUCKET}/investigations/${{aws:PrincipalTag/{TAG}}}/raw/*",
                     f"arn:aws:s3:::{BUCKET}/investigations/curated/zeek_conn/investigation_id=${{aws:PrincipalTag/{TAG}}}/*"],
    }],
}


def _role(iam, max_session: int = 3600) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                     "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
    arn = iam.create_role(RoleName="upload", AssumeRolePolicyDocument=json.dumps(trust),
                          MaxSessionDuration=max_session)["Role"]["Arn"]
    iam.put_role_policy(RoleName="upload", PolicyName="p", PolicyDocument=json.dumps(POLICY))
    return str(arn)


def _session_s3(sts, role: str, investigation: str | None, seconds: int = 900):
    kwargs = {"Tags": [{"Key": TAG, "Value": investigation}]} if investigation else {}
    creds = sts.assume_role(RoleArn=role, RoleSessionName="sensor", DurationSeconds=seconds, **kwargs)["Credentials"]
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"]), creds


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_tagged_session_writes_only_where_its_tag_points() -> None:
    """IAM user guide, "IAM policy elements: Variables and tags": ``${aws:PrincipalTag/key}`` in a
    Resource is replaced by the session tag's value ("Pass session tags in AWS STS"); S3 answers a
    request the policy does not allow with 403 AccessDenied."""
    with mock_aws():
        iam, sts, s3 = (boto3.client(s, region_name="us-east-1") for s in ("iam", "sts", "s3"))
        s3.create_bucket(Bucket=BUCKET)
        role = _role(iam)
        upload, _ = _session_s3(sts, role, "inv-a")
        upload.put_object(Bucket=BUCKET, Key="investigations/inv-a/raw/suricata/eve.json", Body=b"{}")
        upload.put_object(Bucket=BUCKET, Key="investigations/curated/zeek_conn/investigation_id=inv-a/part-0.parquet",
                          Body=b"x")
        for key in ("investigations/inv-b/raw/suricata/eve.json",          # another investigation
                    "investigations/curated/zeek_conn/investigation_id=inv-b/part-0.parquet",
                    "investigations/inv-a/report/report.json",             # its own, but not raw/
                    "elsewhere.txt"):
            with pytest.raises(ClientError) as denied:
                upload.put_object(Bucket=BUCKET, Key=key, Body=b"forged")
            assert _code(denied) == ("AccessDenied", 403), key
        with pytest.raises(ClientError) as read:
            upload.get_object(Bucket=BUCKET, Key="investigations/inv-a/raw/suricata/eve.json")
        assert _code(read) == ("AccessDenied", 403)
        with pytest.raises(ClientError) as listing:
            upload.list_objects_v2(Bucket=BUCKET)
        assert _code(listing) == ("AccessDenied", 403)
        # the objects it may create arrived; none of the refused ones did
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
        assert keys == ["investigations/curated/zeek_conn/investigation_id=inv-a/part-0.parquet",
                        "investigations/inv-a/raw/suricata/eve.json"]


def test_a_multipart_upload_is_judged_as_putobject() -> None:
    """S3 "Multipart upload API and permissions": CreateMultipartUpload, UploadPart and
    CompleteMultipartUpload need s3:PutObject; AbortMultipartUpload s3:AbortMultipartUpload."""
    with mock_aws():
        iam, sts, s3 = (boto3.client(s, region_name="us-east-1") for s in ("iam", "sts", "s3"))
        s3.create_bucket(Bucket=BUCKET)
        upload, _ = _session_s3(sts, _role(iam), "inv-a")
        key = "investigations/inv-a/raw/pcap/packets.pcap"
        started = upload.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        etag = upload.upload_part(Bucket=BUCKET, Key=key, UploadId=started, PartNumber=1, Body=b"p" * 10)["ETag"]
        upload.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=started,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        other = upload.create_multipart_upload  # into another investigation: refused at the start
        with pytest.raises(ClientError) as denied:
            other(Bucket=BUCKET, Key="investigations/inv-b/raw/pcap/packets.pcap")
        assert _code(denied) == ("AccessDenied", 403)
        aborted = upload.create_multipart_upload(Bucket=BUCKET, Key=key + ".2")["UploadId"]
        upload.abort_multipart_upload(Bucket=BUCKET, Key=key + ".2", UploadId=aborted)


def test_a_session_without_the_tag_can_write_nothing() -> None:
    """"If AWS cannot resolve a variable this might cause the entire statement to be invalid"
    (IAM policy variables): a session without the tag matches no resource of the policy."""
    with mock_aws():
        iam, sts, s3 = (boto3.client(s, region_name="us-east-1") for s in ("iam", "sts", "s3"))
        s3.create_bucket(Bucket=BUCKET)
        role = _role(iam)
        sts_sessions._record("AKIATAGGEDBUTOTHER00", sts_sessions.RoleSession(
            role, "123456789012", {"other": "x"}, datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)))
        assert not sts_sessions.evaluate([POLICY], "s3:PutObject", f"arn:aws:s3:::{BUCKET}/investigations/x/raw/a",
                                         {"aws:PrincipalTag/other": "x"})
        assert sts_sessions.evaluate([POLICY], "s3:PutObject", f"arn:aws:s3:::{BUCKET}/investigations/x/raw/a",
                                     {f"aws:PrincipalTag/{TAG}": "x"})


def test_policy_variable_special_characters_are_literal() -> None:
    """IAM policy variables: ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters."""
    policy = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/a${*}b"}]}
    assert sts_sessions.evaluate([policy], "s3:PutObject", "arn:aws:s3:::b/a*b", {})
    assert not sts_sessions.evaluate([policy], "s3:PutObject", "arn:aws:s3:::b/axxb", {})
    deny = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                          {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/locked/*"}]}
    assert not sts_sessions.evaluate([deny], "s3:PutObject", "arn:aws:s3:::b/locked/x", {})  # an explicit deny wins
    assert sts_sessions.evaluate([deny], "s3:PutObject", "arn:aws:s3:::b/open/x", {})


def test_assume_role_refuses_durations_outside_its_bounds() -> None:
    """STS AssumeRole API reference, DurationSeconds: "from 900 seconds (15 minutes) up to the
    maximum session duration set for the role"; beyond it ``ValidationError``."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        # botocore checks the minimum itself; the service must refuse it too
        sts = boto3.client("sts", region_name="us-east-1", config=Config(parameter_validation=False))
        role = _role(iam, max_session=3600)
        for seconds in (899, 3601):
            with pytest.raises(ClientError) as refused:
                sts.assume_role(RoleArn=role, RoleSessionName="sensor", DurationSeconds=seconds,
                                Tags=[{"Key": TAG, "Value": "inv-a"}])
            assert refused.value.response["Error"]["Code"] == "ValidationError"
        sts.assume_role(RoleArn=role, RoleSessionName="sensor", DurationSeconds=3600)


def test_expired_session_credentials_answer_expired_token() -> None:
    """S3 error responses: ``ExpiredToken`` (400) "The provided token has expired."."""
    with mock_aws():
        iam, sts, s3 = (boto3.client(s, region_name="us-east-1") for s in ("iam", "sts", "s3"))
        s3.create_bucket(Bucket=BUCKET)
        upload, creds = _session_s3(sts, _role(iam), "inv-a")
        session = sts_sessions.session_of(creds["AccessKeyId"])
        assert session is not None and session.tags == {TAG: "inv-a"}
        sts_sessions._record(creds["AccessKeyId"], sts_sessions.RoleSession(
            session.role_arn, session.account_id, session.tags,
            datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)))
        with pytest.raises(ClientError) as expired:
            upload.put_object(Bucket=BUCKET, Key="investigations/inv-a/raw/late.json", Body=b"{}")
        assert _code(expired) == ("ExpiredToken", 400)


def test_long_expired_sessions_are_forgotten() -> None:
    """STS credentials stop working at their expiration (S3 answers ExpiredToken); an hour after,
    the local cloud forgets the session and moto's record of it (``assumed_roles``), so that a
    long-running local cloud does not keep every investigation's upload credentials."""
    from moto.sts.models import sts_backends

    with mock_aws():
        iam, sts = (boto3.client(s, region_name="us-east-1") for s in ("iam", "sts"))
        role = _role(iam)
        old = sts.assume_role(RoleArn=role, RoleSessionName="old", DurationSeconds=900,
                              Tags=[{"Key": TAG, "Value": "inv-old"}])["Credentials"]["AccessKeyId"]
        backend = sts_backends["123456789012"]["aws"]
        held = next(r for r in backend.assumed_roles if r.access_key_id == old)
        held.expiration = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(hours=2)
        session = sts_sessions.session_of(old)
        assert session is not None
        sts_sessions._record(old, sts_sessions.RoleSession(session.role_arn, session.account_id, session.tags,
                                                          held.expiration.replace(tzinfo=datetime.UTC)))
        new = sts.assume_role(RoleArn=role, RoleSessionName="new", DurationSeconds=900,
                              Tags=[{"Key": TAG, "Value": "inv-new"}])["Credentials"]["AccessKeyId"]
        assert [r.access_key_id for r in backend.assumed_roles] == [new]
        assert sts_sessions.session_of(old) is None and sts_sessions.session_of(new) is not None
