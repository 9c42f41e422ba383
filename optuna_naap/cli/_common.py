"""What the commands share: the one-line error, argument types and option groups."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CommandError",
    "DataSpec",
    "data_spec",
    "add_data",
    "add_device",
    "add_epochs",
    "add_heartbeat",
    "add_naap440",
    "add_storage",
    "data_root",
    "int_list",
    "names",
    "one_line",
    "open_storage",
    "out_dir",
    "positive_int",
    "root_cause",
]


class CommandError(Exception):
    """A user error: printed as one line, exit status 2 (``status=1``: a failure that left
    work undone, such as a storage that refused a write)."""

    def __init__(self, message: str, *, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def int_list(text: str) -> list[int]:
    """An argparse type: comma-separated integers."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 0,3,6,9, but got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, but got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {value}")
    return value


def names(text: str | None) -> list[str] | None:
    """Comma-separated names, or None when not given."""
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def add_storage(
    parser: argparse.ArgumentParser, default: str | None, *, help: str | None = None
) -> None:
    """``--storage URL``: required when there is no default."""
    parser.add_argument(
        "--storage", metavar="URL", default=default, required=default is None, help=help
    )


def add_naap440(parser: Any, help: str) -> None:
    """``--naap440 PATH``: a NAAP-440 CSV (else the published file shipped in the package)."""
    parser.add_argument("--naap440", metavar="PATH", help=help)


def add_data(parser: argparse.ArgumentParser, *, download_help: str) -> None:
    """``--data``, ``--data-root`` and ``--download``: where the training images come from."""
    parser.add_argument(
        "--data",
        choices=DATA_KINDS,
        default="cifar10",
        help="training images: cifar10 (torchvision's folder), fashion-mnist (Debian's "
        "dataset-fashion-mnist, offline) or synthetic (a small stand-in); default cifar10",
    )
    parser.add_argument(
        "--data-root",
        metavar="DIR",
        help="the images' folder (default: data for cifar10, "
        "/usr/share/datasets/fashion-mnist for fashion-mnist)",
    )
    parser.add_argument("--download", action="store_true", help=download_help)
    parser.add_argument(
        "--train-images",
        type=positive_int,
        metavar="N",
        help="fashion-mnist: train on a class-balanced, seeded subset of N images (default all)",
    )
    parser.add_argument(
        "--test-images",
        type=positive_int,
        metavar="N",
        help="fashion-mnist: evaluate on a class-balanced, seeded subset of N images "
        "(default all 10000)",
    )


#: The ``--data`` choices.
DATA_KINDS = ("cifar10", "fashion-mnist", "synthetic")


@dataclass(frozen=True)
class DataSpec:
    """How a worker gets its images (workers load them themselves: arrays do not travel)."""

    kind: str = "cifar10"
    root: str | None = "data"
    download: bool = False
    n_train: int = 2560
    n_test: int = 512
    #: Fashion-MNIST: class-balanced seeded subsets of the images (None: all).
    train_images: int | None = None
    test_images: int | None = None
    subset_seed: int = 0

    def load(self) -> Any:
        """The images (:class:`~optuna_naap.ImageData`)."""
        from optuna_naap._images import load_cifar10, load_fashion_mnist, synthetic_images

        if self.kind == "synthetic":
            return synthetic_images(self.n_train, self.n_test)
        if self.kind == "fashion-mnist":
            return load_fashion_mnist(
                self.root,
                n_train=self.train_images,
                n_test=self.test_images,
                seed=self.subset_seed,
            )
        return load_cifar10(self.root or "data", download=self.download)


def data_spec(args: argparse.Namespace) -> DataSpec:
    """The images ``--data`` and its options name; subsets only for fashion-mnist."""
    if args.data != "fashion-mnist" and (args.train_images or args.test_images):
        raise CommandError(
            f"--train-images and --test-images take subsets of fashion-mnist, not of {args.data}"
        )
    if args.download and args.data != "cifar10":
        raise CommandError(f"--download fetches CIFAR-10; {args.data} is not downloaded")
    for name in ("train_images", "test_images"):
        value = getattr(args, name)
        most = 60_000 if name == "train_images" else 10_000
        if value is not None and (value % 10 or value > most):
            raise CommandError(
                f"--{name.replace('_', '-')} takes a multiple of 10 up to {most} (ten classes, "
                f"balanced), but got {value}"
            )
    return DataSpec(
        args.data,
        data_root(args),
        args.download,
        train_images=args.train_images,
        test_images=args.test_images,
    )


def data_root(args: argparse.Namespace) -> str | None:
    """``--data-root``, or the data kind's default folder (None: the loader's own)."""
    if args.data_root:
        return str(args.data_root)
    return "data" if args.data == "cifar10" else None


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: where to train."""
    parser.add_argument("--device", metavar="D", help="cpu, cuda, cuda:1, mps (default: best)")


def add_epochs(parser: argparse.ArgumentParser, what: str) -> None:
    """``--epochs N``: epochs of the recipe (default 90)."""
    parser.add_argument(
        "--epochs", type=positive_int, metavar="N", help=f"epochs per {what} (default: 90)"
    )


def out_dir(text: str | None) -> Path | None:
    """An ``--out DIR`` that may not be an existing file."""
    path = Path(text) if text else None
    if path is not None and path.exists() and not path.is_dir():
        raise CommandError(f"--out {path} exists and is not a directory")
    return path


def open_storage(url: str, *, heartbeat: int | None = None, grace: int | None = None) -> Any:
    """The Optuna storage at ``url`` (an RDB one with heartbeats when ``heartbeat`` is given),
    or a one-line CommandError naming the root cause."""
    import optuna

    try:
        if heartbeat is None:
            return optuna.storages.get_storage(url)
        from optuna_naap.cli._recovery import heartbeat_storage

        return heartbeat_storage(url, heartbeat, grace)
    except Exception as exc:  # any storage failure: one line, not a traceback
        raise CommandError(f"cannot open the storage {url!r}: {root_cause(exc)}") from exc


def add_heartbeat(parser: argparse.ArgumentParser) -> None:
    """``--heartbeat S`` and ``--grace S``: how a trial of a killed process is noticed."""
    parser.add_argument(
        "--heartbeat",
        type=positive_int,
        default=60,
        metavar="S",
        help="seconds between a running trial's heartbeats (default 60)",
    )
    parser.add_argument(
        "--grace",
        type=positive_int,
        metavar="S",
        help="seconds without a heartbeat before a trial counts as dead (default: 2 x heartbeat)",
    )


def root_cause(exc: BaseException) -> str:
    """The innermost error of a chain on one line: a database driver's own message (``database
    or disk is full``), not the wrapper's."""
    seen = {id(exc)}
    inner = exc
    while True:
        nxt = getattr(inner, "orig", None) or inner.__cause__ or inner.__context__
        if not isinstance(nxt, BaseException) or id(nxt) in seen:
            break
        seen.add(id(nxt))
        inner = nxt
    text = one_line(inner) or type(inner).__name__
    return text if inner is exc else f"{text} ({type(inner).__name__})"


def one_line(exc: BaseException) -> str:
    """The message on one line (database drivers spread theirs over several)."""
    text = str(exc).split("(Background on this error at:")[0]
    return " ".join(text.split())
