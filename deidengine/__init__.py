"""deidengine: a rules-based de-identification policy engine for DICOM.

The policy language (``deidengine.policy``) compiles PS3.15 Annex E and HIPAA Safe Harbor
profiles into an immutable :class:`~deidengine.policy.plan.Plan`; the engine applies a plan to
DICOM files, the pixel stage redacts burned-in text, and the verifier proves each output clean.
"""

__version__ = "0.1.0"
ENGINE_NAME = "deidengine"
