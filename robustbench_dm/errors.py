"""The one exception type for failures a user can cause (bad paths, files, names, values)."""


class UserError(ValueError):
    """A problem with the user's input: the message names the file or value and what was
    expected. The CLI prints it as one line and exits non-zero, without a traceback."""
