"""The DICOM standard and HIPAA facts the engine needs, generated from the stored tables.

``python -m deidengine.standard.generate`` writes ``policies/annex-e/*.policy`` and the JSON
under ``deidengine/standard/data``; the modules here read that JSON.
"""

from deidengine.standard.cid7050 import ALL_CODES, CodedConcept, cid_7050, cid_7050_for_column
from deidengine.standard.dictionary import (
    AttributeInfo,
    all_keywords,
    attribute_info,
    closest_keywords,
    is_private_group,
    tag_for_keyword,
    vr_of,
)
from deidengine.standard.hipaa import (
    HipaaIdentifier,
    age_aggregate_category,
    identifiers,
    max_age_reportable,
    restricted_zip3,
    zip_replacement,
)
from deidengine.standard.iod import (
    COMPOUND_CODES,
    attribute_type,
    ciod_for_sop_class,
    resolve_compound_action,
    tag_key,
)
from deidengine.standard.sr import (
    sr_concept_actions,
    sr_concept_actions_by_value_type,
    sr_concept_rows,
)

__all__ = [
    "ALL_CODES",
    "COMPOUND_CODES",
    "AttributeInfo",
    "CodedConcept",
    "HipaaIdentifier",
    "age_aggregate_category",
    "all_keywords",
    "attribute_info",
    "attribute_type",
    "cid_7050",
    "cid_7050_for_column",
    "ciod_for_sop_class",
    "closest_keywords",
    "identifiers",
    "is_private_group",
    "max_age_reportable",
    "resolve_compound_action",
    "restricted_zip3",
    "sr_concept_actions",
    "sr_concept_actions_by_value_type",
    "sr_concept_rows",
    "tag_for_keyword",
    "tag_key",
    "vr_of",
    "zip_replacement",
]
