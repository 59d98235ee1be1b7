"""A faithful local AWS cloud: moto in server mode plus the pieces moto lacks.

Use :class:`LocalCloud` as a context manager (tests) or through ``tapcase local serve``.
"""

from tapcase.localcloud.cloud import LocalCloud, LocalCloudError

__all__ = ["LocalCloud", "LocalCloudError"]
