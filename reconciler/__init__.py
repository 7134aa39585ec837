"""reconciler: GitOps for Immuta integrations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("immuta-reconciler")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
