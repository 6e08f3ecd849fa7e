"""Narrow exceptions raised by the core. Each message is a Japanese sentence a person can act on;
the CLI and the web layer show it as it is."""


class KasuharaError(Exception):
    """Base class: something the user can fix (bad input, missing index, wrong configuration)."""


class IndexMissingError(KasuharaError):
    """No index has been built yet."""


class EmbedderMismatchError(KasuharaError):
    """The index was built with another embedder than the one configured."""
