"""Original values for honest brokers: collected, enveloped for one certificate, restored.

:func:`collect_original_attributes` compares the input with the output and builds one item of
Original Attributes Sequence (0400,0561): its Modified Attributes Sequence (0400,0550) holds
the original value of every top-level element removed or replaced (a sequence whole, when
anything inside it changed), beside Attribute Modification DateTime, Modifying System, Source
of Previous Values and Reason for the Attribute Modification.

That item never appears in clear text: Table E.1-1 removes both (0400,0561) and (0400,0550).
:func:`encrypt_original_attributes` encodes the item as a Data Set in Explicit VR Little
Endian and wraps it in CMS EnvelopedData (RFC 5652; RSA key transport, AES-256-CBC) for the
recipient certificate: an item of Encrypted Attributes Sequence (0400,0500) whose Encrypted
Content (0400,0520) is that DER. The decrypted Data Set has the Modified Attributes Sequence,
with one item, at its top level, as PS3.3 C.12.1.1.4.1 requires; the modification record sits
beside it.

:func:`reidentify` restores the originals and applies PS3.15 E.1.2 (see its docstring).

cryptography is imported by the functions that use it: a run without ``--encrypt-to`` never
loads it (about 35 ms of every start-up).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from deidengine import ENGINE_NAME, __version__
from deidengine.errors import DeidError, EngineCode
from deidengine.provenance.vocabulary import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    PatientIdentityRemoved,
    ReasonForTheAttributeModification,
    Tag,
)
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "DEIDENTIFICATION_PROVENANCE_TAGS",
    "OriginalAttributesError",
    "check_key_pair",
    "collect_original_attributes",
    "decrypt_original_attributes",
    "encrypt_original_attributes",
    "original_snapshot",
    "protect_original_attributes",
    "reidentify",
]

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
#: Encrypted Content Transfer Syntax UID values we can decode: (implicit VR, little endian).
READABLE_CONTENT_SYNTAXES: dict[str, tuple[bool, bool]] = {
    EXPLICIT_VR_LITTLE_ENDIAN: (False, True),
    IMPLICIT_VR_LITTLE_ENDIAN: (True, True),
}

#: What the de-identifier adds or overwrites to describe itself (stamp_provenance). When the
#: input had one of these, it is recorded even if unchanged, so that :func:`reidentify` can
#: tell "added by de-identification" (not recorded: remove) from "was there" (restore).
DEIDENTIFICATION_PROVENANCE_TAGS = frozenset(
    {
        Tag.PatientIdentityRemoved,
        Tag.DeidentificationMethod,
        Tag.DeidentificationMethodCodeSequence,
        Tag.BurnedInAnnotation,
        Tag.RecognizableVisualFeatures,
        Tag.LongitudinalTemporalInformationModified,
        Tag.PrivateDataElementCharacteristicsSequence,
        Tag.ContributingEquipmentSequence,
    }
)

#: Attributes that describe the pixels: restored only together with the pixel data, so a
#: re-identified image whose redacted pixels stay keeps a description that fits them.
FOLLOW_PIXEL_DATA = frozenset(
    {
        *PIXEL_DATA_TAGS,
        Tag.BurnedInAnnotation,
        Tag.RecognizableVisualFeatures,
        Tag.SamplesPerPixel,
        Tag.PhotometricInterpretation,
        Tag.PlanarConfiguration,
        Tag.NumberOfFrames,
        Tag.Rows,
        Tag.Columns,
        Tag.BitsAllocated,
        Tag.BitsStored,
        Tag.HighBit,
        Tag.PixelRepresentation,
        Tag.LossyImageCompression,
        Tag.LossyImageCompressionRatio,
        Tag.LossyImageCompressionMethod,
    }
)

#: PS3.15 E.1.2: a re-identifier sets Patient Identity Removed to NO and removes these.
REMOVED_ON_REIDENTIFICATION = frozenset(
    {Tag.DeidentificationMethod, Tag.DeidentificationMethodCodeSequence}
)


class OriginalAttributesError(DeidError):
    """Original attributes could not be protected or restored; never names a value."""

    code = EngineCode.ORIGINAL_ATTRIBUTES


# ------------------------------------------------------------------------------ collect
def _is_group_length(tag: int) -> bool:
    return tag & 0xFFFF == 0x0000


def original_snapshot(dataset: Dataset, *, include_pixel_data: bool = False) -> Dataset:
    """A deep copy of ``dataset``'s top level to compare against later (the header stage edits
    in place); pixel data is left out unless asked for, as :func:`collect_original_attributes`
    leaves it out by default."""
    snapshot = Dataset()
    for element in dataset:
        if include_pixel_data or int(element.tag) not in PIXEL_DATA_TAGS:
            snapshot.add(copy.deepcopy(element))
    return snapshot


def _dt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S.%f+0000")


def collect_original_attributes(
    before: Dataset,
    after: Dataset,
    *,
    reason: ReasonForTheAttributeModification = ReasonForTheAttributeModification.DEIDENTIFICATION,
    modifying_system: str = f"{ENGINE_NAME} {__version__}",
    source_of_previous_values: str = "",
    include_pixel_data: bool = False,
    now: datetime | None = None,
) -> Dataset:
    """One Original Attributes Sequence item: the original of every top-level element of
    ``before`` that ``after`` lacks or holds with another value (VR or value).

    Group lengths (gggg,0000) are not recorded (retired, and stale once anything changed).
    Pixel data is not recorded unless ``include_pixel_data``: it is large, and restoring it
    restores burned-in identity. Elements the de-identifier writes about itself
    (:data:`DEIDENTIFICATION_PROVENANCE_TAGS`) are recorded whenever the input had them.
    Call it on the stamped output, so the elements the stamp overwrote are recorded too.
    """
    originals = Dataset()
    for element in before:
        tag = int(element.tag)
        if _is_group_length(tag) or (tag in PIXEL_DATA_TAGS and not include_pixel_data):
            continue
        kept = after.get(tag)
        if kept is None or kept != element or tag in DEIDENTIFICATION_PROVENANCE_TAGS:
            originals.add(copy.deepcopy(element))
    item = Dataset()
    character_set = before.get(Tag.SpecificCharacterSet)
    if character_set is not None and character_set.value:
        # The originals are text in the input's character set: say so where a reader of the
        # decrypted Data Set looks for it (its top level).
        item.add_new(Tag.SpecificCharacterSet, "CS", copy.deepcopy(character_set.value))
    item.add_new(Tag.ModifiedAttributesSequence, "SQ", Sequence([originals]))
    item.add_new(Tag.AttributeModificationDateTime, "DT", _dt(now or datetime.now(UTC)))
    item.add_new(Tag.ModifyingSystem, "LO", modifying_system[:64])
    item.add_new(Tag.SourceOfPreviousValues, "LO", source_of_previous_values[:64])
    item.add_new(Tag.ReasonForTheAttributeModification, "CS", reason.value)
    return item


# ------------------------------------------------------------------------------ encrypt
def _encode(dataset: Dataset) -> bytes:
    """``dataset`` as a bare Data Set in Explicit VR Little Endian (no preamble, no meta)."""
    stream = DicomBytesIO()
    stream.is_little_endian = True
    stream.is_implicit_VR = False
    write_dataset(stream, dataset)
    return stream.getvalue()


def _decode(data: bytes, syntax: str) -> Dataset:
    implicit, little = READABLE_CONTENT_SYNTAXES[syntax]
    dataset = read_dataset(io.BytesIO(data), is_implicit_VR=implicit, is_little_endian=little)
    for _element in dataset.iterall():
        pass  # parse everything now: a broken payload fails here, not while restoring
    return dataset


def _certificate(certificate_pem: bytes) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise OriginalAttributesError("the certificate is not a PEM X.509 certificate") from None
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise OriginalAttributesError("CMS key transport here needs an RSA certificate")
    return certificate


def encrypt_original_attributes(item: Dataset, certificate_pem: bytes) -> Dataset:
    """An Encrypted Attributes Sequence item carrying ``item`` for the certificate's holder.

    Encrypted Content Transfer Syntax UID (0400,0510) is Explicit VR Little Endian; Encrypted
    Content (0400,0520) is CMS EnvelopedData, DER, content encrypted with AES-256-CBC under a
    fresh key that is RSA-encrypted for the certificate (PS3.15 Annex "Attribute Level
    Confidentiality"). Nothing of ``item`` is in clear text.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.serialization import pkcs7

    if Tag.ModifiedAttributesSequence not in item:
        raise OriginalAttributesError("the item has no Modified Attributes Sequence")
    envelope = (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(_encode(item))
        .add_recipient(_certificate(certificate_pem))
        .set_content_encryption_algorithm(algorithms.AES256)
        # Binary: the content is bytes, never canonicalised as MIME text.
        .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    encrypted = Dataset()
    encrypted.add_new(Tag.EncryptedContentTransferSyntaxUID, "UI", EXPLICIT_VR_LITTLE_ENDIAN)
    encrypted.add_new(Tag.EncryptedContent, "OB", envelope)
    return encrypted


def protect_original_attributes(
    before: Dataset, after: Dataset, certificate_pem: bytes, *, include_pixel_data: bool = False
) -> None:
    """Collect, encrypt and append the originals to ``after``'s Encrypted Attributes Sequence.

    Call it last, on the stamped output, so that everything stamped is compared. The verifier
    reads the encoded output with the envelope in it and sets the envelope aside as opaque
    (:func:`deidengine.verify.written.set_aside_envelopes`): the leak scan cannot read it.
    """
    item = collect_original_attributes(before, after, include_pixel_data=include_pixel_data)
    encrypted = encrypt_original_attributes(item, certificate_pem)
    existing = after.get(Tag.EncryptedAttributesSequence)
    items = list(existing.value) if existing is not None and existing.value else []
    after.add_new(Tag.EncryptedAttributesSequence, "SQ", Sequence([*items, encrypted]))


# ------------------------------------------------------------------------------ decrypt
def private_key_of(private_key_pem: bytes, password: bytes | None) -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem, password=password)
    except TypeError:
        raise OriginalAttributesError(
            "the private key is encrypted and no password was given (or one was given for a "
            "key that has none)"
        ) from None
    except ValueError:
        raise OriginalAttributesError(
            "the private key is not a PEM key, or the password is wrong"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise OriginalAttributesError("CMS key transport here needs an RSA private key")
    return key


def check_key_pair(
    private_key_pem: bytes, certificate_pem: bytes, *, password: bytes | None = None
) -> None:
    """Raise :class:`OriginalAttributesError` unless the key is the certificate's key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = private_key_of(private_key_pem, password)
    certificate = _certificate(certificate_pem)
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    if key.public_key().public_numbers() != public.public_numbers():
        raise OriginalAttributesError("the private key does not belong to the certificate")


def _der_length(data: bytes) -> int:
    """The length of the DER value at the start of ``data`` (OB values are padded to even)."""
    if len(data) < 2:
        raise ValueError("too short")
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or len(data) < 2 + count:
        raise ValueError("not definite-length DER")
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def _items(dataset: Dataset) -> Iterable[tuple[int, Dataset]]:
    sequence = dataset.get(Tag.EncryptedAttributesSequence)
    return enumerate(sequence.value) if sequence is not None and sequence.value else ()


def _decrypt(
    ds: Dataset, private_key_pem: bytes, certificate_pem: bytes, password: bytes | None
) -> tuple[int, Dataset]:
    from cryptography.hazmat.primitives.serialization import pkcs7

    check_key_pair(private_key_pem, certificate_pem, password=password)
    key = private_key_of(private_key_pem, password)
    certificate = _certificate(certificate_pem)
    for index, item in _items(ds):
        syntax_element = item.get(Tag.EncryptedContentTransferSyntaxUID)
        syntax = str(syntax_element.value if syntax_element is not None else "").strip(" \x00")
        content = item.get(Tag.EncryptedContent)
        if syntax not in READABLE_CONTENT_SYNTAXES or content is None or not content.value:
            continue
        data = bytes(content.value)
        try:
            data = data[: _der_length(data)]
            plain = pkcs7.pkcs7_decrypt_der(data, certificate, key, [])
        except ValueError:
            continue  # enveloped for another recipient, or not EnvelopedData
        try:
            payload = _decode(plain, syntax)
        except Exception as error:
            raise OriginalAttributesError(
                f"the decrypted content is not a Data Set ({type(error).__name__})"
            ) from None
        modified = payload.get(Tag.ModifiedAttributesSequence)
        if modified is None or not modified.value or len(modified.value) != 1:
            raise OriginalAttributesError(
                "the decrypted Data Set lacks a Modified Attributes Sequence with one item"
            )
        return index, payload
    raise OriginalAttributesError(
        "no item of Encrypted Attributes Sequence (0400,0500) is addressed to this certificate"
    )


def decrypt_original_attributes(
    ds: Dataset,
    private_key_pem: bytes,
    certificate_pem: bytes,
    *,
    password: bytes | None = None,
) -> Dataset:
    """The Original Attributes Sequence item enveloped in ``ds`` for this key and certificate.

    The first item of Encrypted Attributes Sequence addressed to the certificate wins.
    """
    return _decrypt(ds, private_key_pem, certificate_pem, password)[1]


# ------------------------------------------------------------------------------ reidentify
def _file_meta(source: Dataset, restored: Dataset) -> FileMetaDataset | None:
    meta = getattr(source, "file_meta", None)
    if not isinstance(meta, FileMetaDataset):
        return None
    new: FileMetaDataset = copy.deepcopy(meta)
    if Tag.SOPClassUID in restored:
        new.MediaStorageSOPClassUID = UID(str(restored[Tag.SOPClassUID].value))
    if Tag.SOPInstanceUID in restored:
        new.MediaStorageSOPInstanceUID = UID(str(restored[Tag.SOPInstanceUID].value))
    return new


def reidentify(
    ds: Dataset,
    private_key_pem: bytes,
    certificate_pem: bytes,
    *,
    password: bytes | None = None,
) -> Dataset:
    """A re-identified copy of ``ds`` (``ds`` is not changed).

    * Every recorded original replaces the element at the top level or is added back
      (a sequence whole). Pixel data and the attributes that describe it
      (:data:`FOLLOW_PIXEL_DATA`) come back only if the pixel data was recorded.
    * The de-identifier's own attributes (:data:`DEIDENTIFICATION_PROVENANCE_TAGS`) that the
      input did not have are removed: the stamp described a state that no longer holds.
      Burned In Annotation and Recognizable Visual Features stay when the (redacted) pixels
      stay, because they still describe those pixels.
    * PS3.15 E.1.2: Patient Identity Removed (0012,0062) is set to NO, and De-identification
      Method (0012,0063) and its Code Sequence (0012,0064) are removed.
    * The Encrypted Attributes Sequence item that was opened is removed (its content is now in
      clear text); items for other recipients stay.
    * The File Meta Information is kept, with its Media Storage SOP Class and Instance UIDs
      set to the restored ones.
    """
    index, payload = _decrypt(ds, private_key_pem, certificate_pem, password)
    originals: Dataset = payload[Tag.ModifiedAttributesSequence].value[0]
    restored = Dataset()
    for element in ds:
        restored.add(copy.deepcopy(element))
    remaining = [item for i, item in _items(ds) if i != index]
    if remaining:
        restored.add_new(Tag.EncryptedAttributesSequence, "SQ", Sequence(remaining))
    elif Tag.EncryptedAttributesSequence in restored:
        del restored[Tag.EncryptedAttributesSequence]
    pixels_restored = any(tag in originals for tag in PIXEL_DATA_TAGS)
    for tag in DEIDENTIFICATION_PROVENANCE_TAGS:
        if tag in originals or tag not in restored:
            continue
        if tag in FOLLOW_PIXEL_DATA and not pixels_restored:
            continue
        del restored[tag]
    for element in originals:
        if int(element.tag) in FOLLOW_PIXEL_DATA and not pixels_restored:
            continue
        restored[element.tag] = copy.deepcopy(element)
    restored.add_new(Tag.PatientIdentityRemoved, "CS", PatientIdentityRemoved.NO.value)
    for tag in REMOVED_ON_REIDENTIFICATION:
        if tag in restored:
            del restored[tag]
    meta = _file_meta(ds, restored)
    if meta is not None:
        restored.file_meta = meta
    return restored
