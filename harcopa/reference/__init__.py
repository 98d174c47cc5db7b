"""Reads the exact prompt strings out of a checkout of the paper's reference code.

Used by ``harcopa prompts import`` and ``harcopa eval --reference`` (harcopa_cli.prompts). The
reference is never imported and nothing of it is stored in harcopa: its files are checked by
hash, its prompt builders compiled alone from their syntax trees and called with marker fields.
"""

from harcopa.reference.importer import ImportResult, import_reference
from harcopa.reference.release import RELEASE, RELEASED_FILES, digest, load_hashes
from harcopa.reference.source import ReferenceMismatch, ReferenceShapeError

__all__ = [
    "RELEASE",
    "RELEASED_FILES",
    "ImportResult",
    "ReferenceMismatch",
    "ReferenceShapeError",
    "digest",
    "import_reference",
    "load_hashes",
]
