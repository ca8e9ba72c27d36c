"""scikit-optimize (and its scikit-learn GP) internals gansweep reaches.

Checked against scikit-optimize 0.10.2 with scikit-learn 1.9: ``skopt.utils.cook_estimator``
(the GP skopt builds for ``base_estimator="GP"``), the private
``skopt.learning.gaussian_process.gpr._param_for_white_kernel_in_Sum``, and the fitted attributes
``GaussianProcessRegressor.predict`` reads (``kernel_``, ``X_train_``, ``alpha_``, ``K_inv_``,
``y_train_mean_``, ``y_train_std_``, ``noise_``), which :func:`fast_gp_class` overrides
``predict`` with.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

TESTED = {"scikit-optimize": ("0.10.2", "0.11"), "scikit-learn": ("1.9", "1.10")}
"""Installed versions must satisfy ``low <= version < high``."""
INTERNALS = ("skopt.utils.cook_estimator",
             "skopt.learning.gaussian_process.gpr._param_for_white_kernel_in_Sum",
             "skopt.learning.GaussianProcessRegressor.predict")
FITTED = ("kernel_", "X_train_", "alpha_", "K_inv_", "y_train_mean_", "y_train_std_", "noise_")


@functools.cache
def fast_gp_class() -> type:
    """skopt's GP whose predictive std is one matrix product (skopt: an O(k·n²) einsum loop)."""
    from skopt.learning import GaussianProcessRegressor

    class FastGP(GaussianProcessRegressor):
        def predict(self, X, return_std=False, return_cov=False, return_mean_grad=False,
                    return_std_grad=False):
            if not return_std or return_cov or return_mean_grad or return_std_grad \
                    or not hasattr(self, "X_train_"):
                return super().predict(X, return_std, return_cov, return_mean_grad, return_std_grad)
            X = np.asarray(X, dtype=float)
            k = self.kernel_(X, self.X_train_)
            mean = k @ self.alpha_ * self.y_train_std_ + self.y_train_mean_
            var = self.kernel_.diag(X) - np.einsum("ki,ki->k", k @ self.K_inv_, k)
            np.maximum(var, 0.0, out=var)
            return mean, np.sqrt(var * self.y_train_std_ ** 2)

    return FastGP


def cook_gp(dims: list[Any], random_state: int) -> Any:
    """The unfitted GP skopt builds for ``base_estimator="GP"`` over ``dims``."""
    from skopt.utils import cook_estimator

    return cook_estimator("GP", space=dims, random_state=random_state)


def white_noise_param(kernel: Any) -> tuple[bool, str]:
    """(present, parameter name) of the ``WhiteKernel`` in a kernel sum, as skopt finds it."""
    from skopt.learning.gaussian_process.gpr import _param_for_white_kernel_in_Sum

    return _param_for_white_kernel_in_Sum(kernel)
