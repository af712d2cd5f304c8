"""The one error type of the library layer: a folder, cache, model choice or correction that cannot be used.

Each library module raises its own subclass (IndexingError, CacheSchemaError, ModelChoiceError, TeachingError), so a
caller that only needs "the library said no" catches LibraryError, and one that needs detail catches the subclass.
The messages are written for users; front ends show them as they are.
"""

from __future__ import annotations


class LibraryError(Exception):
    """The library cannot do what was asked; the message says why and, where there is one, what to do."""
