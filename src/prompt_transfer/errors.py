"""Errors that are the user's to fix (bad config, data, prompt files, a diverging run).

Scripts report them in one line naming the culprit, without a traceback. This module imports
nothing heavy, so a script can handle them without loading torch.
"""


class UserError(ValueError):
    """A problem with the user's input or settings."""


class ConfigError(UserError):
    """A configuration problem, with the key path in its message."""


class DataError(UserError):
    """A problem with task data, naming the file (and line) at fault."""


class FileFormatError(UserError):
    """A file from outside cannot be parsed; the message names the file (and line)."""


class PromptShapeError(UserError):
    """A prompt does not fit the backbone it is used with."""


class DivergedError(UserError, FloatingPointError):
    """The training loss became NaN or infinite."""
