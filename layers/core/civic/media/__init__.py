"""Imaging, video and documents: safe renditions and container checks, no AWS."""


class Refused(ValueError):
    """A file the pipeline refuses; ``code`` is one of the module's ``REFUSALS`` (mapped to readable text
    by the media service)."""

    REFUSALS: tuple[str, ...] = ()

    def __init__(self, code: str, detail: str = ""):
        assert code in self.REFUSALS, code
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
