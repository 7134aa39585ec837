"""The command line, the only package that imports click, prints or exits: options in, small settings
out, one library call per command, a renderer from reconciler.render.registry, an exit code."""

from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
