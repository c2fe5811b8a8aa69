"""Errors that are the user's to fix: the CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """A problem with the user's input (a path, a file's content, an option), stated in one line."""
