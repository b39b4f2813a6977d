"""The coded values and tags of de-identification provenance, in the standard's words.

Every enumeration below is a PS3.3 value list (``deid_vocabulary.json`` in the shared standard
data holds the source text; ``tests/provenance`` checks these against it). Tags are numbers,
and every element is written with an explicit VR, so nothing depends on the keywords a given
pydicom release happens to know.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DE_IDENTIFYING_EQUIPMENT",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "BlockIdentifyingInformationStatus",
    "BurnedInAnnotation",
    "ContributingEquipmentPurpose",
    "DeidentificationAction",
    "LongitudinalTemporalInformationModified",
    "PatientIdentityRemoved",
    "ReasonForTheAttributeModification",
    "RecognizableVisualFeatures",
    "Tag",
]


class PatientIdentityRemoved(enum.Enum):
    """(0012,0062) Patient Identity Removed, Enumerated Values (PS3.3 Table C.7-1)."""

    YES = "YES"
    NO = "NO"


class BurnedInAnnotation(enum.Enum):
    """(0028,0301) Burned In Annotation, Enumerated Values (PS3.3 Table C.7-9)."""

    YES = "YES"
    NO = "NO"


class RecognizableVisualFeatures(enum.Enum):
    """(0028,0302) Recognizable Visual Features, Enumerated Values (PS3.3 Table C.7-9)."""

    YES = "YES"
    NO = "NO"


class LongitudinalTemporalInformationModified(enum.Enum):
    """(0028,0303) Longitudinal Temporal Information Modified (PS3.3 Table C.12-1).

    PS3.15 E.2: ``REMOVED`` when no Retain Longitudinal Temporal Information Option applies;
    E.3.6: ``UNMODIFIED`` with Full Dates, ``MODIFIED`` with Modified Dates.
    """

    UNMODIFIED = "UNMODIFIED"
    MODIFIED = "MODIFIED"
    REMOVED = "REMOVED"


class BlockIdentifyingInformationStatus(enum.Enum):
    """(0008,0303) Block Identifying Information Status (PS3.3 Table C.12-1)."""

    #: no Data Elements within the block contain identifying information
    SAFE = "SAFE"
    #: all Data Elements within the block may contain identifying information
    UNSAFE = "UNSAFE"
    #: some Data Elements within the block may contain identifying information
    MIXED = "MIXED"


class DeidentificationAction(enum.Enum):
    """(0008,0307) Deidentification Action (PS3.3 Table C.12-1)."""

    #: replace with a non-zero length value that may be a dummy value and consistent with the VR
    D = "D"
    #: replace with a zero length value, or a non-zero length dummy value consistent with the VR
    Z = "Z"
    #: remove
    X = "X"
    #: replace with a non-zero length UID that is internally consistent within a set of Instance
    U = "U"


class ReasonForTheAttributeModification(enum.Enum):
    """(0400,0565) Reason for the Attribute Modification: Defined Terms (PS3.3 Table C.12-1).

    COERCE, CORRECT and CONVERT are the standard's Defined Terms. DEIDENTIFICATION is ours:
    Defined Terms may be extended, and none of the three describes de-identification.
    """

    COERCE = "COERCE"
    CORRECT = "CORRECT"
    CONVERT = "CONVERT"
    DEIDENTIFICATION = "DEIDENTIFICATION"


@dataclass(frozen=True)
class ContributingEquipmentPurpose:
    """A code of CID 7005 Contributing Equipment Purpose of Reference."""

    value: str
    scheme: str
    meaning: str


#: CID 7005 (109104, DCM, "De-identifying Equipment"): PS3.3 C.7-1 names it for the item of
#: Contributing Equipment Sequence (0018,A001) that describes the de-identifier.
DE_IDENTIFYING_EQUIPMENT = ContributingEquipmentPurpose("109104", "DCM", "De-identifying Equipment")

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"


class Tag(enum.IntEnum):
    """The tags this package reads and writes, named by their PS3.6 keywords."""

    SpecificCharacterSet = 0x00080005
    SOPClassUID = 0x00080016
    SOPInstanceUID = 0x00080018
    Manufacturer = 0x00080070
    PrivateDataElementCharacteristicsSequence = 0x00080300
    PrivateGroupReference = 0x00080301
    PrivateCreatorReference = 0x00080302
    BlockIdentifyingInformationStatus = 0x00080303
    NonidentifyingPrivateElements = 0x00080304
    DeidentificationActionSequence = 0x00080305
    IdentifyingPrivateElements = 0x00080306
    DeidentificationAction = 0x00080307
    CodeValue = 0x00080100
    CodingSchemeDesignator = 0x00080102
    CodeMeaning = 0x00080104
    PatientIdentityRemoved = 0x00120062
    DeidentificationMethod = 0x00120063
    DeidentificationMethodCodeSequence = 0x00120064
    SoftwareVersions = 0x00181020
    ContributingEquipmentSequence = 0x0018A001
    ContributionDateTime = 0x0018A002
    ContributionDescription = 0x0018A003
    SamplesPerPixel = 0x00280002
    PhotometricInterpretation = 0x00280004
    PlanarConfiguration = 0x00280006
    NumberOfFrames = 0x00280008
    Rows = 0x00280010
    Columns = 0x00280011
    BitsAllocated = 0x00280100
    BitsStored = 0x00280101
    HighBit = 0x00280102
    PixelRepresentation = 0x00280103
    BurnedInAnnotation = 0x00280301
    RecognizableVisualFeatures = 0x00280302
    LongitudinalTemporalInformationModified = 0x00280303
    LossyImageCompression = 0x00282110
    LossyImageCompressionRatio = 0x00282112
    LossyImageCompressionMethod = 0x00282114
    PurposeOfReferenceCodeSequence = 0x0040A170
    EncryptedAttributesSequence = 0x04000500
    EncryptedContentTransferSyntaxUID = 0x04000510
    EncryptedContent = 0x04000520
    ModifiedAttributesSequence = 0x04000550
    OriginalAttributesSequence = 0x04000561
    AttributeModificationDateTime = 0x04000562
    ModifyingSystem = 0x04000563
    SourceOfPreviousValues = 0x04000564
    ReasonForTheAttributeModification = 0x04000565
    FloatPixelData = 0x7FE00008
    DoubleFloatPixelData = 0x7FE00009
    PixelData = 0x7FE00010
