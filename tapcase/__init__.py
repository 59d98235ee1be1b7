"""tapcase: automated network forensics for AWS (CLI, local cloud, analysis tooling)."""

__version__ = "0.1.0"
