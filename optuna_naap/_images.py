"""Image data for the objective: CIFAR-10 from disk, arrays, or a small synthetic set.

Images are kept as uint8 arrays (N x 32 x 32 x 3, as CIFAR-10's own files) and moved to the
training device once, as uint8 tensors; normalisation happens there, per batch.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optuna_naap._checks import check_int
from optuna_naap._data import default_cache_dir

__all__ = [
    "CIFAR10_DIR",
    "FASHION_MNIST_DEBIAN",
    "ImageData",
    "ImageDataError",
    "load_cifar10",
    "load_fashion_mnist",
    "synthetic_images",
]

#: The folder torchvision's CIFAR10 downloads and extracts under ``root``.
CIFAR10_DIR = "cifar-10-batches-py"
_TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
_TEST_FILE = "test_batch"


#: Where Debian's package ``dataset-fashion-mnist`` installs the original idx .gz files.
FASHION_MNIST_DEBIAN = "/usr/share/datasets/fashion-mnist"


class ImageDataError(ValueError):
    """Image data that is missing, corrupt or of the wrong shape (one line says what to do)."""


@dataclass(frozen=True)
class ImageData:
    """Training and test images (uint8, N x H x W x 3) with integer labels.

    Args:
        train_images: Training images, uint8, N x H x W x C (CIFAR-10: 50000 x 32 x 32 x 3).
        train_labels: Their labels, integers in ``[0, num_classes)``.
        test_images: Test images, same layout.
        test_labels: Their labels.
        num_classes: Number of classes (default: the largest label + 1).
        name: A name for progress and logs.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int = 0
    name: str = "images"

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            images = np.asarray(getattr(self, f"{part}_images"))
            labels = np.asarray(getattr(self, f"{part}_labels"))
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
                raise ImageDataError(
                    f"{part} images must be uint8 N x H x W x C arrays with C 1 or 3 (CIFAR-10: "
                    f"N x 32 x 32 x 3), but got {images.dtype} of shape {images.shape}"
                )
            if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
                raise ImageDataError(
                    f"{part} labels must be {len(images)} integers, one per image, but got "
                    f"{labels.dtype} of shape {labels.shape}"
                )
            if len(images) == 0:
                raise ImageDataError(f"there are no {part} images")
            object.__setattr__(self, f"{part}_images", images)
            object.__setattr__(self, f"{part}_labels", labels.astype(np.int64))
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise ImageDataError(
                f"train and test images differ in shape: {self.train_images.shape[1:]} "
                f"against {self.test_images.shape[1:]}"
            )
        top = int(max(self.train_labels.max(), self.test_labels.max())) + 1
        low = int(min(self.train_labels.min(), self.test_labels.min()))
        if low < 0:
            raise ImageDataError(f"labels must be >= 0, but got {low}")
        if self.num_classes == 0:
            object.__setattr__(self, "num_classes", top)
        elif self.num_classes < top:
            raise ImageDataError(
                f"num_classes={self.num_classes} but the labels go up to {top - 1}"
            )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            # CIFAR-10's python files are pickles; torchvision reads them the same way.
            batch = pickle.load(f, encoding="latin1")
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except FileNotFoundError:
        raise
    except Exception as exc:  # any unreadable content is the same problem for the user
        raise ImageDataError(
            f"{path} is not a CIFAR-10 batch file ({type(exc).__name__}); delete "
            f"{path.parent} and load again with download=True"
        ) from exc
    return np.ascontiguousarray(images), labels


def load_cifar10(
    root: str | Path = "data", *, download: bool = False, verify: bool = True
) -> ImageData:
    """Load CIFAR-10 from ``root`` (torchvision's layout), downloading it first if asked.

    Args:
        root: The folder holding ``cifar-10-batches-py`` (as torchvision's ``CIFAR10(root)``).
        download: Download and extract it with torchvision first (about 170 MB).
        verify: Check each file's MD5 against torchvision's list before reading it.

    Raises:
        ImageDataError: missing or corrupt files, with the download hint.
    """
    root = Path(root)
    if download:
        try:
            from torchvision.datasets import CIFAR10
        except ImportError as exc:  # pragma: no cover - torchvision is a dependency
            raise ImageDataError(f"downloading CIFAR-10 needs torchvision ({exc})") from exc
        existed = root.exists()
        try:
            CIFAR10(str(root), train=True, download=True)
        except Exception as exc:
            if not existed:  # a failed start leaves nothing behind
                import shutil

                shutil.rmtree(root, ignore_errors=True)
            raise ImageDataError(
                f"could not download CIFAR-10 into {root} ({exc}); check the network, or "
                f"put {CIFAR10_DIR} there yourself; offline, train on --data fashion-mnist "
                "(Debian's dataset-fashion-mnist) or --data synthetic"
            ) from exc
    folder = root / CIFAR10_DIR
    hint = (
        f"download it with download=True (optuna-naap: --download), or put torchvision's "
        f"{CIFAR10_DIR} folder in {root}"
    )
    if not folder.is_dir():
        raise ImageDataError(f"CIFAR-10 not found: {folder} does not exist; {hint}")
    if verify:
        from torchvision.datasets import CIFAR10
        from torchvision.datasets.utils import check_integrity

        for name, md5 in [*CIFAR10.train_list, *CIFAR10.test_list]:
            if not check_integrity(str(folder / name), md5):
                raise ImageDataError(
                    f"CIFAR-10 file {folder / name} is missing or corrupt (MD5 check); {hint}"
                )
    try:
        train = [_read_batch(folder / name) for name in _TRAIN_FILES]
        test_images, test_labels = _read_batch(folder / _TEST_FILE)
    except FileNotFoundError as exc:
        raise ImageDataError(f"CIFAR-10 file {exc.filename} is missing; {hint}") from exc
    return ImageData(
        np.concatenate([t[0] for t in train]),
        np.concatenate([t[1] for t in train]),
        test_images,
        test_labels,
        num_classes=10,
        name="cifar10",
    )


def synthetic_images(
    n_train: int = 2560,
    n_test: int = 512,
    *,
    num_classes: int = 10,
    size: int = 32,
    noise: float = 40.0,
    seed: int = 0,
) -> ImageData:
    """A small, learnable stand-in for CIFAR-10: each class a colour and a stripe pattern.

    Every image is its class's template (a mean colour plus a sinusoidal pattern with a
    class-specific frequency and direction) with Gaussian noise, clipped to uint8. A few epochs
    of a small scheme separate the classes well above chance, which is what smoke runs and tests
    need; it says nothing about CIFAR-10 accuracy. ``noise`` (the Gaussian's standard
    deviation, in pixel levels) makes it harder: 40 is learnt to near 100% in a few epochs,
    150 leaves room between schemes.

    Args:
        n_train: Training images.
        n_test: Test images.
        num_classes: Classes (labels ``0 .. num_classes - 1``).
        size: Height and width of the square images, in pixels.
        noise: Standard deviation of the Gaussian noise, in pixel levels.
        seed: Seed of the templates and the noise.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("num_classes", num_classes)):
        check_int(name, value, low=1)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    templates = []
    for c in range(num_classes):
        colour = rng.uniform(60, 200, size=3)
        angle = np.pi * c / num_classes
        frequency = 1.5 + 2.5 * rng.random()
        wave = np.sin(2 * np.pi * frequency * (np.cos(angle) * xx + np.sin(angle) * yy))
        templates.append(colour[None, None, :] + 45 * wave[:, :, None])
    stack = np.stack(templates)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, num_classes, size=n)
        noisy = stack[labels] + rng.normal(0, noise, size=(n, size, size, 3))
        return np.clip(noisy, 0, 255).astype(np.uint8), labels.astype(np.int64)

    train_images, train_labels = draw(n_train)
    test_images, test_labels = draw(n_test)
    return ImageData(
        train_images,
        train_labels,
        test_images,
        test_labels,
        num_classes=num_classes,
        name="synthetic",
    )


def load_fashion_mnist(
    root: str | Path | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> ImageData:
    """Load Fashion-MNIST from its original idx ``.gz`` files, offline, as 32 x 32 x 3 images.

    The four files (``train-images-idx3-ubyte.gz``, ...) are unpacked once into
    ``cache_dir/FashionMNIST/raw`` and read by torchvision's ``FashionMNIST(download=False)``:
    no network is used. They are checked by structure (60,000 and 10,000 images of 28 x 28,
    labels 0-9), not by torchvision's MD5s: Debian's package recompressed the ``.gz`` files.
    Each 28 x 28 grey image is padded with 2 black pixels on every side to 32 x 32
    (Fashion-MNIST's background is black) and its grey channel is repeated three times, so
    that every scheme is the very network NAAP-440 trained on CIFAR-10, with the same
    NumParams and NumMACs.

    Args:
        root: The folder holding the four ``.gz`` files (default: Debian's
            ``/usr/share/datasets/fashion-mnist``, from ``apt-get install dataset-fashion-mnist``).
        n_train: Keep a class-balanced, seeded subset of this many of the 60,000 training
            images (a multiple of 10; default: all).
        n_test: Likewise of the 10,000 test images (default: all).
        seed: Seed of the subsets.
        cache_dir: Where the unpacked files go (default: the project's cache folder).

    Raises:
        ImageDataError: missing or corrupt files, with the install hint.

    Example:
        .. code-block:: python

            from optuna_naap.data import load_fashion_mnist

            data = load_fashion_mnist(n_train=10_000)  # needs dataset-fashion-mnist
            assert data.train_images.shape == (10_000, 32, 32, 3)
    """
    import gzip
    import os
    import shutil
    import tempfile

    for name, value, most in (("n_train", n_train, 60_000), ("n_test", n_test, 10_000)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 10 <= value <= most
            or value % 10
        ):
            raise ValueError(
                f"{name} must be a multiple of 10 between 10 and {most}, but got {name}={value!r}"
            )
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError as exc:  # pragma: no cover - torchvision is a dependency
        raise ImageDataError(f"reading Fashion-MNIST needs torchvision ({exc})") from exc
    source = Path(root) if root is not None else Path(FASHION_MNIST_DEBIAN)
    hint = (
        "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or "
        "pass the folder holding the four idx .gz files"
    )
    if not source.is_dir():
        raise ImageDataError(f"Fashion-MNIST not found: {source} is not a folder; {hint}")
    # Debian recompressed the .gz files, so torchvision's MD5s (of the .gz) do not apply:
    # the contents are checked by structure instead (idx headers, counts, sizes, labels).
    for name, _ in FashionMNIST.resources:
        if not (source / name).is_file():
            raise ImageDataError(f"Fashion-MNIST file {source / name} is missing; {hint}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    raw = cache / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, _ in FashionMNIST.resources:
        target = raw / name[: -len(".gz")]
        if target.is_file():
            continue
        fd, part = tempfile.mkstemp(dir=raw, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, gzip.open(source / name, "rb") as packed:
                shutil.copyfileobj(packed, out)
            Path(part).replace(target)  # atomic: a cached file is always a whole one
        except (OSError, EOFError) as exc:
            raise ImageDataError(
                f"Fashion-MNIST file {source / name} is not a readable .gz file ({exc}); {hint}"
            ) from exc
        finally:
            Path(part).unlink(missing_ok=True)
    try:
        train = FashionMNIST(str(cache), train=True, download=False)
        test = FashionMNIST(str(cache), train=False, download=False)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ImageDataError(
            f"the unpacked Fashion-MNIST files in {raw} cannot be read ({exc}); delete that "
            "folder and load again"
        ) from exc

    for part, dataset, count in (("training", train, 60_000), ("test", test, 10_000)):
        shape = tuple(dataset.data.shape)
        labels = np.asarray(dataset.targets)
        if shape != (count, 28, 28) or len(labels) != count or not set(labels) <= set(range(10)):
            raise ImageDataError(
                f"the Fashion-MNIST {part} files in {source} hold {shape} images and "
                f"{len(labels)} labels, not {count} of 28 x 28 with labels 0-9; {hint}"
            )

    def as_images(tensor: object) -> np.ndarray:
        grey = np.asarray(tensor, dtype=np.uint8)  # N x 28 x 28
        padded = np.pad(grey, ((0, 0), (2, 2), (2, 2)))
        return np.ascontiguousarray(np.repeat(padded[:, :, :, None], 3, axis=3))

    rng = np.random.default_rng(seed)

    def balanced(labels: np.ndarray, n: int | None) -> np.ndarray:
        """A class-balanced subset's indices, in the files' order (all when ``n`` is None)."""
        if n is None or n >= len(labels):
            return np.arange(len(labels))
        return np.sort(
            np.concatenate(
                [
                    rng.choice(np.flatnonzero(labels == c), int(n) // 10, replace=False)
                    for c in range(10)
                ]
            )
        )

    train_labels = np.asarray(train.targets, dtype=np.int64)
    test_labels = np.asarray(test.targets, dtype=np.int64)
    keep_train = balanced(train_labels, n_train)
    keep_test = balanced(test_labels, n_test)
    return ImageData(
        as_images(train.data[keep_train]),
        train_labels[keep_train],
        as_images(test.data[keep_test]),
        test_labels[keep_test],
        num_classes=10,
        name="fashion-mnist",
    )
