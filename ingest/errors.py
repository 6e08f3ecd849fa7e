"""Ingest errors: each names what was wrong and what to do. The previous index is never touched."""

from assistant.core.errors import KasuharaError


class IngestError(KasuharaError):
    """A corpus problem that stops a build."""


class ManifestError(IngestError):
    """corpus/manifest.toml is missing or invalid."""


class SourceError(IngestError):
    """A source file is missing, of an unsupported type, undecodable, or has no text layer."""


class EmptyCorpusError(IngestError):
    """Nothing to index."""
