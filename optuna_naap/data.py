"""Loading, validating and converting data: the NAAP-440 CSV, its studies, CIFAR-10 images."""

from __future__ import annotations

from optuna_naap._data import (
    NAAPDataError,
    attach_schemes,
    default_cache_dir,
    fetch_naap440,
    load_naap440,
    read_naap_csv,
    validate_frame,
)
from optuna_naap._images import ImageData, ImageDataError, load_cifar10, synthetic_images
from optuna_naap._study_io import frame_to_study, study_to_frame, write_naap_csv

__all__ = [
    "ImageData",
    "ImageDataError",
    "NAAPDataError",
    "attach_schemes",
    "default_cache_dir",
    "fetch_naap440",
    "frame_to_study",
    "load_cifar10",
    "load_naap440",
    "read_naap_csv",
    "study_to_frame",
    "synthetic_images",
    "validate_frame",
    "write_naap_csv",
]
