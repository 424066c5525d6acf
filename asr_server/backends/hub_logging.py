"""Hugging Face Hub messages, once each and short, in the server's own log format.

On a machine that cannot reach huggingface.co, loading a model by its id made huggingface_hub log ~50 retry
warnings, each printed twice: the library puts its own stderr handler on its `huggingface_hub` logger and lets
the records propagate to the root handler too. Here the library's handler goes (the root one, with our format,
remains), and each failed request is shown once per URL with its cause; the "Retrying in Ns [Retry k/5]" lines
that follow say the rest.
"""

from __future__ import annotations

import logging

__all__ = ["quiet_hub_logging"]

HUB_LOGGER = "huggingface_hub"
HTTP_LOGGER = "huggingface_hub.utils._http"  # where the retry warnings are logged (a filter sees only its own)
_FAILED_REQUEST = " thrown while requesting "


class _FirstFailurePerUrl(logging.Filter):
    """Lets through the first "<error> thrown while requesting <METHOD URL>" per URL; later ones differ only in
    their request id."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _FAILED_REQUEST not in message:
            return True
        url = message.rsplit(_FAILED_REQUEST, 1)[1]
        if url in self._seen:
            return False
        self._seen.add(url)
        return True


def quiet_hub_logging() -> None:
    """Call once huggingface_hub is imported (it adds its handler at import); calling again changes nothing."""
    logger = logging.getLogger(HUB_LOGGER)
    for handler in list(logger.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
    logger.propagate = True
    http = logging.getLogger(HTTP_LOGGER)
    if not any(isinstance(existing, _FirstFailurePerUrl) for existing in http.filters):
        http.addFilter(_FirstFailurePerUrl())
