"""Evidence bucket and sensor hardening, read from template.yaml (issue 11, item 6): the stack's
own KMS key, public access blocked, TLS only, lifecycle that expires noncurrent versions and
aborts incomplete uploads, optional Object Lock, bucket and key retained; the sensor with IMDSv2,
encrypted volumes, terminate on shutdown, SSM for access and no inbound but VXLAN from the sources."""

from __future__ import annotations

from tests.test_template import RESOURCES, TEMPLATE

BUCKET = RESOURCES["EvidenceBucket"]
PROPS = BUCKET["Properties"]


def test_bucket_and_key_outlive_the_stack():
    """DeletionPolicy/UpdateReplacePolicy Retain: deleting the stack keeps the evidence and its key."""
    for name in ("EvidenceBucket", "EvidenceKey"):
        assert (RESOURCES[name]["DeletionPolicy"], RESOURCES[name]["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert RESOURCES["EvidenceKey"]["Properties"]["EnableKeyRotation"] is True


def test_bucket_encrypts_with_the_stacks_key_and_blocks_public_access():
    rule = PROPS["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                     "KMSMasterKeyID": {"Fn::GetAtt": ["EvidenceKey", "Arn"]}}
    assert rule["BucketKeyEnabled"] is True
    assert PROPS["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    assert PROPS["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # ACLs off


def test_bucket_policy_refuses_plain_http():
    """S3 user guide, "Enforce encryption of data in transit": deny s3:* when aws:SecureTransport is false."""
    statements = RESOURCES["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    tls = next(s for s in statements if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false")
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert tls["Resource"] == [{"Fn::GetAtt": ["EvidenceBucket", "Arn"]}, {"Fn::Sub": "${EvidenceBucket.Arn}/*"}]


def test_sensors_can_never_replace_an_object():
    """S3 conditional writes: a PutObject without If-None-Match with the upload credentials handed
    to sensors is denied (aws:PrincipalArn of a role session is its role's ARN)."""
    statements = RESOURCES["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in statements if s.get("Sid") == "SensorsNeverReplaceAnObject")
    assert deny["Effect"] == "Deny" and deny["Condition"]["Null"] == {"s3:if-none-match": "true"}
    assert deny["Condition"]["ArnEquals"] == {"aws:PrincipalArn": {"Fn::GetAtt": ["EvidenceUploadRole", "Arn"]}}


def test_upload_credentials_reach_one_investigations_prefixes_only():
    """EvidenceUploadRole's resources: the investigation's raw prefix and its partition of every
    curated table of the lake's schema, each named with the session tag (IAM policy variables),
    nothing else; assumable only with that tag (aws:RequestTag), for at most an hour (role chaining)."""
    from tapcase_contract.layout import CURATED_PREFIX, EVIDENCE_ROOT, INVESTIGATION_PARTITION, RAW_DIR
    from tapcase_contract.upload_access import MAX_UPLOAD_SECONDS, SESSION_TAG
    from tapcase_sensor.lake.schema import TABLES

    role = RESOURCES["EvidenceUploadRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    write = next(s for s in statements if s["Sid"] == "WriteOneInvestigationsEvidence")
    variable = f"${{!aws:PrincipalTag/{SESSION_TAG}}}"
    expected = [f"${{EvidenceBucket.Arn}}/{EVIDENCE_ROOT}/{variable}/{RAW_DIR}/*"] + [
        f"${{EvidenceBucket.Arn}}/{CURATED_PREFIX}/{table}/{INVESTIGATION_PARTITION}={variable}/*" for table in TABLES]
    assert [r["Fn::Sub"] for r in write["Resource"]] == expected
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Condition"] == {"StringLike": {f"aws:RequestTag/{SESSION_TAG}": "?*"}}
    assert set(trust[0]["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    assert role["MaxSessionDuration"] == MAX_UPLOAD_SECONDS


def test_no_sensor_role_can_write_evidence():
    """The sensor's role has no S3 or KMS permission at all; a fleet member's writes only coverage
    mode's rolling logs (``coverage/``), never an investigation's evidence."""
    from tests.test_iam import FLEET

    def statements(props):
        return [st for p in props["Policies"] for st in p["PolicyDocument"]["Statement"]]

    def actions(st):
        return [st["Action"]] if isinstance(st["Action"], str) else st["Action"]

    sensor = statements(RESOURCES["SensorRole"]["Properties"])
    assert sensor and not [a for st in sensor for a in actions(st) if a.startswith(("s3:", "kms:"))]
    member = [st for st in statements(FLEET["Resources"]["MemberRole"]["Properties"])
              if any(a.startswith("s3:") for a in actions(st))]
    assert [st["Resource"] for st in member] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${EvidenceBucketName}/coverage/*"}]


def test_lifecycle_expires_noncurrent_versions_and_aborts_incomplete_uploads():
    assert PROPS["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in PROPS["LifecycleConfiguration"]["Rules"]}
    assert all(r["Status"] == "Enabled" for r in rules.values())
    assert rules["evidence"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "EvidenceRetentionDays"}}
    assert "NoncurrentVersionExpiration" in rules["athena-results"]
    assert rules["incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in rules["incomplete-uploads"]  # the whole bucket


def test_object_lock_is_a_parameter():
    """Object Lock only on request (it cannot be turned off again): EvidenceObjectLockMode NONE,
    GOVERNANCE or COMPLIANCE, for EvidenceObjectLockDays."""
    params = TEMPLATE["Parameters"]
    assert params["EvidenceObjectLockMode"]["Default"] == "NONE"
    assert set(params["EvidenceObjectLockMode"]["AllowedValues"]) == {"NONE", "GOVERNANCE", "COMPLIANCE"}
    assert TEMPLATE["Conditions"]["EvidenceObjectLockOn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EvidenceObjectLockMode"}, "NONE"]}]}
    on, off = PROPS["ObjectLockConfiguration"]["Fn::If"][1:]
    assert PROPS["ObjectLockConfiguration"]["Fn::If"][0] == "EvidenceObjectLockOn" and off == {"Ref": "AWS::NoValue"}
    assert on["Rule"]["DefaultRetention"] == {"Mode": {"Ref": "EvidenceObjectLockMode"},
                                              "Days": {"Ref": "EvidenceObjectLockDays"}}


def test_sensor_launch_template_is_hardened():
    data = RESOURCES["SensorLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"  # IMDSv2 only
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1  # no container hop to the credentials
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"  # the sensor's own deadline terminates it
    assert all(m["Ebs"]["Encrypted"] is True and m["Ebs"]["DeleteOnTermination"] is True
               for m in data["BlockDeviceMappings"])
    assert "KeyName" not in data  # no SSH key: Session Manager is the way in
    role = RESOURCES["SensorRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]


def test_sensor_accepts_only_vxlan_from_the_mirrored_sources():
    """The sensor's group gets exactly one ingress permission, UDP 4789 from each source's address
    (the plan's; tests/unit/test_plan.py), and the state machine adds no other."""
    import json

    from tests.test_template import REPO, _states

    definition = json.loads((REPO / "statemachines" / "investigation.asl.json").read_text())
    ingress = [s for s in _states(definition).values() if s.get("Resource", "").endswith(
        ":ec2:authorizeSecurityGroupIngress")]
    assert [s["Parameters"]["IpPermissions.$"] for s in ingress] == ["$.plan.sensor.ip_permissions"]
    assert not [s for s in _states(definition).values() if "Egress" in s.get("Resource", "")
                or "authorizeSecurityGroup" in s.get("Resource", "") and s not in ingress]


def test_evidence_writers_write_only_their_prefixes():
    """No role deletes evidence; only the upload credentials handed to a sensor create raw and
    curated objects (of one investigation), WriteReport only reports."""
    from tests.test_iam import roles

    everything = roles(TEMPLATE)
    writes = {role: sorted(str(r) for s in statements if "s3:PutObject" in s["Action"]
                           for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
              for role, statements in everything.items()}
    assert writes["WriteReportFunction"] == ["{'Fn::Sub': '${EvidenceBucket.Arn}/investigations/*/report/*'}"]
    assert writes["SensorRole"] == []
    assert all("${!aws:PrincipalTag/tapcase:investigation-id}" in r for r in writes["EvidenceUploadRole"])
    assert writes["RecordTeardownFunction"] == writes["WriteReportFunction"]  # the report's teardown part
    assert {role for role, w in writes.items() if w} == {
        "WriteReportFunction", "RecordTeardownFunction", "EvidenceUploadRole", "InvestigationStateMachine"}
    assert writes["InvestigationStateMachine"] == ["{'Fn::Sub': '${EvidenceBucket.Arn}/athena-results/*'}"]
    assert not any("DeleteObject" in str(s["Action"]) for statements in everything.values() for s in statements)
