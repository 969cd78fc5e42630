"""The argument parser of ``mimic-lit fit|validate|test|predict``: one line for a bad config.

A ``LightningArgumentParser`` whose :meth:`~MimicLitArgumentParser.error` raises a
:class:`~mimic_lit.config_errors.ConfigError` with the one useful line of jsonargparse's message (see
:func:`~mimic_lit.config_errors.summarize_parser_error`) instead of printing the usage text and the
nested dump; ``mimic-lit`` prints it as ``error: ...`` and exits with 2. With ``MIMIC_LIT_DEBUG=1``
the parser's full message is printed as before.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from lightning.pytorch.cli import LightningArgumentParser

from mimic_lit.config_errors import ConfigError, summarize_parser_error
from mimic_lit.errors import debug_enabled


class MimicLitArgumentParser(LightningArgumentParser):
    """``LightningArgumentParser`` that reports a rejected config on one line."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        # Parsers that do not exit on error (jsonargparse's inner ones) raise for their caller to
        # handle: leave those alone, as with MIMIC_LIT_DEBUG=1 (the full usage and message).
        if not self.exit_on_error or debug_enabled():
            super().error(message, ex)
        raise ConfigError(summarize_parser_error(message, sys.argv[1:], self)) from None
