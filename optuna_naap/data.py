"""Loading, validating and converting data: the NAAP-440 CSV, its studies, the images
(CIFAR-10, Fashion-MNIST, synthetic)."""

from __future__ import annotations

from optuna_naap._data import (
    NAAPDataError,
    attach_schemes,
    curve_epochs,
    default_cache_dir,
    fetch_naap440,
    load_naap440,
    packaged_naap440_bytes,
    packaged_naap440_file,
    read_naap_csv,
    truncate_curves,
    validate_frame,
)
from optuna_naap._images import (
    ImageData,
    ImageDataError,
    load_cifar10,
    load_fashion_mnist,
    synthetic_images,
)
from optuna_naap._study_io import frame_to_study, study_to_frame, write_naap_csv

__all__ = [
    "ImageData",
    "ImageDataError",
    "NAAPDataError",
    "attach_schemes",
    "curve_epochs",
    "default_cache_dir",
    "fetch_naap440",
    "frame_to_study",
    "load_cifar10",
    "load_fashion_mnist",
    "load_naap440",
    "packaged_naap440_bytes",
    "packaged_naap440_file",
    "read_naap_csv",
    "study_to_frame",
    "synthetic_images",
    "truncate_curves",
    "validate_frame",
    "write_naap_csv",
]
