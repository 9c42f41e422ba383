"""A Gaussian-process component of NAAPPredictor: the architecture model of
``NAAPPredictor(architecture_model="gp")``, with the interface of :class:`Component`.

A scheme space such as NAAP-440's is a small grid of options; a GP with one length scale per
feature (ARD) interpolates between neighbouring schemes where a tree ensemble splits them into
boxes. By 10-fold cross-validation on NAAP-440's training rows it ranks the held-out schemes
better than the CatBoost architecture model (docs/predictor.md).
"""

from __future__ import annotations

import warnings
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._component import feature_matrix

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.gaussian_process import GaussianProcessRegressor

__all__ = ["GPComponent"]

#: Matern smoothness (twice differentiable: smooth in the scheme's sizes, not analytic).
_NU = 2.5
#: Columns whose spread among the fit rows is below this are constant there: left out (a
#: length scale for them would be a free parameter the data cannot fix).
_CONSTANT = 1e-12


def _kernel(length_scales: np.ndarray, constant: float = 1.0, noise: float = 1e-2) -> Any:
    """The component's kernel form (a fit starts from the defaults; a file gives them all)."""
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    return ConstantKernel(constant) * Matern(length_scales, nu=_NU) + WhiteKernel(noise)


def _regressor(kernel: Any, *, optimize: bool, seed: int) -> GaussianProcessRegressor:
    from sklearn.gaussian_process import GaussianProcessRegressor

    return GaussianProcessRegressor(
        kernel,
        normalize_y=True,
        optimizer="fmin_l_bfgs_b" if optimize else None,
        random_state=seed,
    )


class GPComponent:
    """A GP regression on one feature set, with :class:`Component`'s interface.

    Its JSON holds the fit rows and the kernel's fitted hyperparameters; reading it refits the
    GP with those hyperparameters fixed, which gives the same predictions without storing an
    n x n factor.
    """

    def __init__(
        self,
        epochs: int,
        feature_names: list[str],
        regressor: GaussianProcessRegressor,
        n_members: int,
    ) -> None:
        self.epochs = epochs
        self.feature_names = feature_names
        self.regressor = regressor
        self.n_members = n_members
        self.calibration = (1.0, 0.0)
        fitted = regressor.kernel_
        # The noise of the fit rows' targets: the members spread by what the GP does not know
        # about a scheme, as CatBoost's virtual ensembles do, not by that noise.
        self._noise = float(fitted.k2.noise_level) * float(regressor._y_train_std) ** 2
        self._quantiles = np.array(
            [NormalDist().inv_cdf((i + 0.5) / n_members) for i in range(n_members)]
        )

    @classmethod
    def fit(
        cls,
        epochs: int,
        features: pd.DataFrame,
        columns: list[str],
        target: np.ndarray,
        *,
        n_members: int,
        seed: int,
        start: Any = None,
    ) -> GPComponent:
        """Fit on ``columns`` of ``features``; ``start`` is a fitted kernel to start the
        hyperparameter search from (an inner fold starts from the full fit's: same optimum,
        far fewer steps)."""
        from sklearn.exceptions import ConvergenceWarning

        x = features.loc[:, columns].to_numpy(dtype="float64")
        keep = x.std(axis=0) > _CONSTANT
        if not keep.any():
            raise ValueError(
                f"a GP cannot fit these {len(x)} rows: every architecture feature is constant; "
                "fit on more varied schemes"
            )
        x, varying = x[:, keep], [c for c, k in zip(columns, keep, strict=True) if k]
        if start is None or start.k1.k2.length_scale.shape != (len(varying),):
            start = _kernel(np.full(len(varying), 3.0))
        regressor = _regressor(start, optimize=True, seed=seed)
        with warnings.catch_warnings():
            # A length scale at its bound is a feature the GP found irrelevant: expected.
            warnings.simplefilter("ignore", ConvergenceWarning)
            regressor.fit(x, target)
        return cls(epochs, varying, regressor, n_members)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        return feature_matrix(features, self.feature_names)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.regressor.predict(x), dtype="float64")

    def predict_with_members(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and ``n_members`` members per row: the posterior mean plus its
        standard deviation (the target noise taken out) times evenly spaced normal quantiles,
        so that they blend with a CatBoost component's virtual ensembles."""
        mean, std = self.regressor.predict(x, return_std=True)
        spread = np.sqrt(np.clip(np.asarray(std) ** 2 - self._noise, 0.0, None))
        return mean, mean[:, None] + spread[:, None] * self._quantiles[None, :]

    def to_json(self) -> dict[str, Any]:
        regressor = self.regressor
        kernel = regressor.kernel_
        # The fit rows as given: normalize_y keeps them as standardised values and their mean
        # and spread; the raw values are restored from those.
        target = regressor.y_train_ * regressor._y_train_std + regressor._y_train_mean
        return {
            "model": "gp",
            "epochs": self.epochs,
            "feature_names": self.feature_names,
            "n_members": self.n_members,
            "constant": float(kernel.k1.k1.constant_value),
            "length_scales": np.atleast_1d(kernel.k1.k2.length_scale).tolist(),
            "noise": float(kernel.k2.noise_level),
            "x": np.asarray(regressor.X_train_).tolist(),
            "y": np.asarray(target).tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GPComponent:
        x = np.asarray(data["x"], dtype="float64")
        y = np.asarray(data["y"], dtype="float64")
        scales = np.asarray(data["length_scales"], dtype="float64")
        names = [str(n) for n in data["feature_names"]]
        if x.ndim != 2 or x.shape != (len(y), len(names)) or scales.shape != (len(names),):
            raise ValueError("a GP component's rows, targets and features do not match")
        kernel = _kernel(scales, float(data["constant"]), float(data["noise"]))
        regressor = _regressor(kernel, optimize=False, seed=0).fit(x, y)
        return cls(int(data["epochs"]), names, regressor, int(data["n_members"]))
