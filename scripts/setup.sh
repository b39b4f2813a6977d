#!/usr/bin/env bash
# Install everything deidengine needs on a fresh Debian machine (run as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if ! command -v tesseract >/dev/null || ! command -v dciodvfy >/dev/null \
    || ! command -v storescp >/dev/null || ! command -v chromium >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # tesseract-ocr: OCR backend; dicom3tools: dciodvfy IOD validator; dcmtk: DICOM network peers
    $SUDO apt-get install -y -qq --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng dicom3tools dcmtk chromium fonts-dejavu-core >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
# RapidOCR (the default OCR backend: best recall measured here) ships its ONNX models in the
# wheel; --no-deps keeps the GUI opencv-python out (opencv-python-headless is already in).
python3 -m pip install -q --disable-pip-version-check --no-deps "rapidocr-onnxruntime==1.4.4"
# Bytecode for the engine: an editable install has none, and where PYTHONDONTWRITEBYTECODE is set
# every process would compile the engine's modules again at start-up.
python3 -m compileall -q deidengine
