"""The one error type users see: a single line that names the fix, never a traceback."""


class NetwatchError(Exception):
    """A failure explained to the user in one line; ``exit_code`` is what the process returns."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
