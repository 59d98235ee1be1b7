"""An instance's profile role, and the credentials a process on the instance gets from it.

On AWS, ``RunInstances`` applies its launch template's ``IamInstanceProfile`` ("Launch an instance
from a launch template": parameters not given in the request come from the template), and a
process on the instance signs with a session of the profile's role, which EC2 makes and renews
through the instance metadata service (IAM user guide, "Use an IAM role to grant permissions to
applications running on Amazon EC2 instances": the credentials are rotated before they expire).
moto 5.2.5 associates a profile only when the request names one. Here the launch template's
profile is associated too (``DescribeIamInstanceProfileAssociations`` shows it), and
:func:`profile_session` gives a boto3 session of the role that renews itself, as the metadata
service's credentials do (:mod:`tapcase.localcloud.service_sessions`: EC2's session, not subject
to a caller's trust; STS then judges what the role assumes, :mod:`tapcase.localcloud.sts_trust`).
"""

from __future__ import annotations

from typing import Any


def associate_from_template(backend: Any, instance: Any, template_data: dict[str, Any]) -> None:
    """Associate the launch template's instance profile, when the request named none."""
    spec = template_data.get("IamInstanceProfile") or {}
    if not spec or backend.iam_instance_profile_associations.get(instance.id) is not None:
        return
    backend.associate_iam_instance_profile(instance_id=instance.id, iam_instance_profile_name=spec.get("Name"),
                                           iam_instance_profile_arn=spec.get("Arn"))


def profile_role(backend: Any, instance_id: str, requested: dict[str, Any] | None = None) -> str | None:
    """The ARN of the role of the instance's profile (None: no profile, or a profile without a
    role). ``requested``: RunInstances' arguments (moto associates a profile the request names only
    once the instances exist)."""
    from moto.ec2.utils import filter_iam_instance_profiles

    association = backend.iam_instance_profile_associations.get(instance_id)
    profile = getattr(association, "iam_instance_profile", None)
    name, arn = (requested or {}).get("iam_instance_profile_name"), (requested or {}).get("iam_instance_profile_arn")
    if profile is None and (name or arn):
        profile = filter_iam_instance_profiles(backend.account_id, partition=backend.partition,
                                               iam_instance_profile_arn=arn, iam_instance_profile_name=name)
    roles = list(getattr(profile, "roles", None) or [])
    return str(roles[0].arn) if roles else None


def profile_session(role_arn: str, region: str, session_name: str) -> Any:
    """A boto3 session signing with the role's credentials, renewed before they expire."""
    import boto3
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    from tapcase.localcloud.service_sessions import session_of

    def fetch() -> dict[str, str]:
        keys = session_of(role_arn, session_name)
        return {"access_key": keys.access_key_id, "secret_key": keys.secret_access_key,
                "token": keys.session_token, "expiry_time": keys.expiration.isoformat()}

    core = botocore.session.get_session()
    core._credentials = RefreshableCredentials.create_from_metadata(fetch(), fetch, "iam-role")
    return boto3.session.Session(botocore_session=core, region_name=region)
