"""People, their embeddings and consent: SQLite by default."""

from facegate.gallery.sqlite import SQLiteGallery
from facegate.gallery.types import EmbeddingRecord, EmbeddingSet, Gallery, PersonSummary

__all__ = ["EmbeddingRecord", "EmbeddingSet", "Gallery", "PersonSummary", "SQLiteGallery"]
