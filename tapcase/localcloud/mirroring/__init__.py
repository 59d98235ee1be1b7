"""EC2 VPC Traffic Mirroring on the local cloud: the API as AWS answers it, and what a sensor receives.

moto 5.2.5 creates and describes filters, targets and sessions but validates nothing, and lacks the
filter-rule actions, ``ModifyTrafficMirrorFilterNetworkServices``, ``DeleteTrafficMirrorFilter``
and ``DeleteTrafficMirrorTarget``. This package completes it, one concern per module:

- **the API as data** -- :mod:`.actions` (the table: each action's parameters, their kinds,
  ranges, choices and required-ness, and its answer's shape), :mod:`.params` (how each kind is
  checked and which EC2 error a bad value gets), :mod:`.responses` (every action answered from
  its row: DryRun, checks, backend call, answer), :mod:`.malformed` (a value that does not parse is
  ``InvalidParameterValue``, never a 500), :mod:`.errors` (AWS's error codes), :mod:`.limits`
  (AWS's quotas and ranges);
- **the control plane** -- :mod:`.resources` (moto's models completed: rules, network services,
  live tags, AWS ids), :mod:`.store` (lookups, tags, ClientToken idempotency, the lock),
  :mod:`.filters`, :mod:`.filter_rules`, :mod:`.targets`, :mod:`.sessions` (each resource's
  lifecycle and quotas), :mod:`.session_checks`, :mod:`.topology` (where a target may be),
  :mod:`.describe` (describe filters and pages);
- **the data plane** -- :mod:`.wire` (captures and frames with ``struct``), :mod:`.packet_filter`
  (which packets a session mirrors, decided as AWS does), :mod:`.ledger` (the sessions over
  time), :mod:`.dataplane` (a sensor's interface capture built from them); pure, without moto;
- **the moto fixes** -- :mod:`.moto_fixes`: every replacement a
  :class:`tapcase.localcloud.patching.Patch` record saying what it fixes and what moto behaviour
  it relies on, checked by ``tests/localcloud/test_moto_patches.py``.

Importing this package imports no moto code (the data plane stays pure); :func:`apply` does.
"""

from __future__ import annotations


def apply() -> None:
    """Patch moto's traffic mirroring in this process (idempotent; see :mod:`.moto_fixes`)."""
    from tapcase.localcloud.mirroring import moto_fixes

    moto_fixes.apply()
