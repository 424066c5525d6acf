"""Named exceptions of the server: each says what went wrong and how to fix it.

`main()` prints the message of any `AsrServerError` as one line and exits with status 2; everything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import dictation_core.config


class AsrServerError(Exception):
    """Base of every error the user can fix; its message is the one line they see."""


class ConfigError(AsrServerError, dictation_core.config.ConfigError):
    """A setting is invalid: the message names the flag or key, the bad value and what is allowed."""


class BackendUnavailable(AsrServerError):
    """The chosen backend's packages are not installed (for example vLLM); the message names the extra."""


class ModelLoadError(AsrServerError):
    """The model could not be loaded (missing files, wrong format); the message says what to check."""


class GpuMemoryError(AsrServerError):
    """The model or its KV cache does not fit in GPU memory; the message says which flag to change."""


class EngineError(AsrServerError):
    """One decode step failed; it reaches only the session whose utterance it was."""


class EngineRefused(EngineError):
    """The engine refused the request itself (HTTP 4xx other than 408/429): the same step sent again gets the
    same answer, so it is never sent again; the message carries the engine's reason."""
