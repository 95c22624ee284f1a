"""CivicBridge core: the domain, storage adapters and local tooling shared by every handler.

Built as the Lambda layer from `layers/core/`; imported as `import civic` everywhere.
"""

__version__ = "0.1.0"
