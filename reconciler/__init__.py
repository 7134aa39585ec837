"""reconciler: GitOps for Immuta integrations."""

# The one place the version is written: pyproject.toml reads it from here (tool.setuptools.dynamic), and
# reading it needs no importlib.metadata lookup at start-up.
__version__ = "0.3.0"
