"""Development and operator tooling: the local stack, the `civic` command, in-memory fakes.

Installed with the project for development; never copied into the Lambda layer.
"""
