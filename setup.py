"""Package discovery for setuptools (everything else is in pyproject.toml).

Every package under ``deidengine/`` is found rather than listed, and the grammar and shipped
policies, kept at the repository root, are mapped into the package as ``deidengine._grammar``
and ``deidengine._policies`` (a mapping pyproject.toml's ``packages.find`` cannot express).
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["deidengine", "deidengine.*"]),
        "deidengine._grammar",
        "deidengine._policies",
    ],
    package_dir={"deidengine._grammar": "grammar", "deidengine._policies": "policies"},
)
