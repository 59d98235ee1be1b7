"""The local deployer's storage and key resources: S3 buckets and bucket policies, KMS keys.

Each is created through the API CloudFormation itself would call, so the local bucket holds the
template's versioning, Object Lock, default encryption, ownership, public access block and
lifecycle, and its policy (stored; moto does not evaluate bucket policies or key policies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from tapcase.localcloud.stack_model import Deployed, tags_list


class _Cloud(Protocol):
    def client(self, service: str, region: str | None = None) -> Any: ...


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule as PutBucketLifecycleConfiguration takes it."""
    out: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"],
                           "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return out


class StorageResources:
    """Mixin of :class:`tapcase.localcloud.deploy.Deployer`: ``_AWS_<Service>_<Type>`` creators."""

    cloud: _Cloud
    region: str
    account: str

    #: the Deployer's physical-name rule (logical id, explicit name, lower case)
    _name: Callable[..., str]

    def _AWS_KMS_Key(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        kms = self.cloud.client("kms")
        kwargs: dict[str, Any] = {"Description": props.get("Description", "")}
        if props.get("KeyPolicy"):
            kwargs["Policy"] = json.dumps(props["KeyPolicy"])
        key = kms.create_key(**kwargs)["KeyMetadata"]
        if str(props.get("EnableKeyRotation", "false")).lower() == "true":
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return Deployed(logical_id, "AWS::KMS::Key", key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})

    def _AWS_S3_Bucket(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        s3 = self.cloud.client("s3")
        name = self._name(logical_id, props.get("BucketName"), lower=True)
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if str(props.get("ObjectLockEnabled", "false")).lower() == "true":
            kwargs["ObjectLockEnabledForBucket"] = True
        ownership = [r["ObjectOwnership"] for r in (props.get("OwnershipControls") or {}).get("Rules", [])]
        if ownership:
            kwargs["ObjectOwnership"] = ownership[0]
        s3.create_bucket(**kwargs)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        lock = props.get("ObjectLockConfiguration")
        if lock and lock.get("Rule"):
            retention = lock["Rule"]["DefaultRetention"]
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": retention["Mode"], "Days": int(retention["Days"])}},
            })
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            # CloudFormation's property name differs from the API's.
                            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                            **({"BucketKeyEnabled": str(rule["BucketKeyEnabled"]).lower() == "true"}
                               if "BucketKeyEnabled" in rule else {}),
                        }
                        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration={
                    k: str(v).lower() == "true" for k, v in props["PublicAccessBlockConfiguration"].items()
                }
            )
        if "LifecycleConfiguration" in props:
            rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags_list(props["Tags"])})
        return Deployed(
            logical_id, "AWS::S3::Bucket", name,
            {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"},
        )

    def _AWS_S3_BucketPolicy(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        self.cloud.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
        return Deployed(logical_id, "AWS::S3::BucketPolicy", props["Bucket"], {})
