"""Disproportionality of drug–event pairs on 2×2 tables of reports.

For one drug–event pair, over the reports (here: comments, or authors) that name any drug–event pair:

=========  =============  ===============
           event          other events
=========  =============  ===============
drug       a              b
others     c              d
=========  =============  ===============

* **PRR** = [a/(a+b)] / [c/(c+d)], 95% CI exp(ln PRR ± 1.96·√(1/a − 1/(a+b) + 1/c − 1/(c+d)));
  **χ²** with Yates' correction, N·(|ad − bc| − N/2)² / [(a+b)(c+d)(a+c)(b+d)] (the correction never
  overshoots: |ad − bc| − N/2 is floored at 0, as ``scipy.stats.chi2_contingency`` does). Evans et al.
  2001 (Pharmacoepidemiol Drug Saf 10:483): a signal when PRR ≥ 2, χ² ≥ 4 and a ≥ 3.
* **ROR** = ad/(bc), 95% CI exp(ln ROR ± 1.96·√(1/a + 1/b + 1/c + 1/d)); a signal when the lower
  bound > 1 (van Puijenbroek et al. 2002).
* Tables with a zero cell get 0.5 added to every cell for PRR and ROR (Haldane–Anscombe, as
  ``vigipy`` does), so that a pair reported with one drug only still has a finite ratio and CI.
* **IC** = log2((a + 0.5)/(E + 0.5)), E = (a+b)(a+c)/N the expected count; **IC025** is the 2.5%
  quantile of the gamma posterior, log2(Gamma⁻¹(0.025; shape a+0.5, rate E+0.5)) — the formula of
  WHO-UMC (Norén et al. 2013, Stat Methods Med Res 22:57) as the R package ``vigicaen`` computes it
  (``ic_tail``); Norén's closed form IC − 3.3(a+½)^−½ − 2(a+½)^−3/2 approximates it. A signal when
  IC025 > 0.
* **EBGM** and **EB05**: DuMouchel's gamma-Poisson shrinker (Am Stat 1999; the FDA's MGPS), computed
  by ``vigipy.gps``. Its five hyperparameters are fitted once (``fit_gps_priors``) over every pair of a
  build and then reused (also for the cumulative month-by-month tables). A signal when EB05 ≥ 2.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# scipy, statsmodels and vigipy are imported where used: a build without drug events never pays for them.
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
STATISTICS = ("expected", "prr", "prr_lower", "prr_upper", "chi2", "ror", "ror_lower", "ror_upper",
              "ic", "ic025", "ic975", "ebgm", "eb05")
FLAGS = ("signal_evans", "signal_ror", "signal_ic", "signal_ebgm")


@dataclass(frozen=True)
class Criteria:
    """The signal thresholds (Evans; ROR025; IC025; EB05)."""

    prr_min: float = 2.0
    chi2_min: float = 4.0
    a_min: int = 3
    ror_lower_above: float = 1.0
    ic025_above: float = 0.0
    eb05_min: float = 2.0


CRITERIA = Criteria()


@dataclass(frozen=True)
class GpsPriors:
    """DuMouchel's prior: a mixture w·Gamma(alpha1, beta1) + (1 − w)·Gamma(alpha2, beta2) of relative risks."""

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    w: float

    def as_array(self) -> np.ndarray:
        return np.array([self.alpha1, self.beta1, self.alpha2, self.beta2, self.w], dtype=np.float64)


def _cells(a, b, c, d) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cells = [np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (a, b, c, d)]
    a, b, c, d = np.broadcast_arrays(*cells)
    if any(np.any(x < 0) or np.any(~np.isfinite(x)) for x in (a, b, c, d)):
        raise ValueError("2×2 cells must be finite counts ≥ 0")
    return a, b, c, d


def _corrected(a, b, c, d):
    """Haldane–Anscombe: 0.5 added to every cell of the tables that have a zero cell."""
    add = 0.5 * ((a == 0) | (b == 0) | (c == 0) | (d == 0))
    return a + add, b + add, c + add, d + add


def prr(a, b, c, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(PRR, lower, upper) of the 95% CI."""
    a, b, c, d = _corrected(*_cells(a, b, c, d))
    log_prr = np.log((a / (a + b)) / (c / (c + d)))
    se = np.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return np.exp(log_prr), np.exp(log_prr - Z95 * se), np.exp(log_prr + Z95 * se)


def ror(a, b, c, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ROR, lower, upper) of the 95% CI."""
    a, b, c, d = _corrected(*_cells(a, b, c, d))
    log_ror = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return np.exp(log_ror), np.exp(log_ror - Z95 * se), np.exp(log_ror + Z95 * se)


def chi2_yates(a, b, c, d) -> np.ndarray:
    """Pearson's χ² with Yates' correction on the raw counts; NaN when a margin is 0 (no comparison)."""
    a, b, c, d = _cells(a, b, c, d)
    n = a + b + c + d
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    excess = np.maximum(np.abs(a * d - b * c) - n / 2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margins > 0, n * excess ** 2 / np.where(margins > 0, margins, 1.0), np.nan)


def expected_count(a, b, c, d) -> np.ndarray:
    """E = (a+b)(a+c)/N, the count expected if drug and event were independent."""
    a, b, c, d = _cells(a, b, c, d)
    return (a + b) * (a + c) / (a + b + c + d)


def information_component(a, expected) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(IC, IC025, IC975): the shrunk log2 observed-to-expected ratio and its 95% credibility interval."""
    from scipy import special

    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    ic = np.log2((a + 0.5) / (expected + 0.5))
    # Gamma(shape a+0.5, rate E+0.5)'s quantile is the standard gamma's divided by the rate, and the
    # standard gamma's depends on the count alone: computed once per distinct count.
    shapes, index = np.unique(a + 0.5, return_inverse=True)
    low, high = special.gammaincinv(shapes, 0.025)[index], special.gammaincinv(shapes, 0.975)[index]
    return ic, np.log2(low / (expected + 0.5)), np.log2(high / (expected + 0.5))


def _gps(a, expected, priors: GpsPriors | None):
    """vigipy's GPS on pairs given by their count and expected count. Its posterior (and, with
    truncation, its prior fit) depend on each pair's n and E alone, so the pairs are handed over with
    N = 1 and margins (E, 1), which makes vigipy's Mantel–Haenszel E = n1j·ni1/N the given E: one call
    scores pairs of different tables (all the months of a build) at once."""
    import pandas as pd
    import vigipy

    a = np.asarray(a, dtype=np.float64)
    data = pd.DataFrame({
        "product_name": np.arange(len(a)), "ae_name": np.arange(len(a)), "events": a,
        "product_aes": np.asarray(expected, dtype=np.float64), "count_across_brands": np.ones(len(a)),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vigipy warns about its own optimiser's steps
        return vigipy.gps(vigipy.DataContainer(data=data, N=1), min_events=1, decision_metric="rank",
                          decision_thres=0.0, truncate=True,
                          prior_param=None if priors is None else list(priors.as_array()))


def fit_gps_priors(a, b, c, d) -> GpsPriors | None:
    """The GPS hyperparameters fitted by maximum likelihood (vigipy, truncated at a ≥ 1) over all pairs
    of one analysis; None when there are fewer than 2 pairs to fit on."""
    a, b, c, d = _cells(a, b, c, d)
    if len(a) < 2:
        return None
    result = _gps(a, expected_count(a, b, c, d), None)
    return GpsPriors(*(float(x) for x in result.params["prior_param"]))


def may_reach_eb05(a, expected, priors: GpsPriors, threshold: float) -> np.ndarray:
    """False where EB05 < ``threshold`` is certain, cheaply (no quantile search). The posterior of a
    pair's relative risk is Q·G1 + (1 − Q)·G2, G_k = Gamma(alpha_k + a, beta_k + E); its CDF at the
    threshold is at least min(G1, G2) there, and EB05 ≥ threshold needs that CDF ≤ 0.05."""
    from scipy import special

    a, expected = np.asarray(a, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    g1 = special.gdtr(priors.beta1 + expected, priors.alpha1 + a, threshold)
    g2 = special.gdtr(priors.beta2 + expected, priors.alpha2 + a, threshold)
    return np.minimum(g1, g2) <= 0.05


def ebgm(a, b, c, d, priors: GpsPriors | None, only=None) -> tuple[np.ndarray, np.ndarray]:
    """(EBGM, EB05) under the given priors (NaN without priors, and outside ``only``, a boolean mask
    of the tables to score when given)."""
    a, b, c, d = _cells(a, b, c, d)
    out_ebgm, out_eb05 = np.full(len(a), np.nan), np.full(len(a), np.nan)
    rows = np.arange(len(a)) if only is None else np.flatnonzero(only)
    if priors is None or len(rows) == 0:
        return out_ebgm, out_eb05
    result = _gps(a[rows], expected_count(a, b, c, d)[rows], priors).all_signals
    order = np.argsort(result["Product"].to_numpy())
    out_ebgm[rows], out_eb05[rows] = result["EBGM"].to_numpy()[order], result["LowerBound"].to_numpy()[order]
    return out_ebgm, out_eb05


def statistics(a, b, c, d, priors: GpsPriors | None = None, criteria: Criteria = CRITERIA,
               screen_ebgm: bool = False) -> dict[str, np.ndarray]:
    """Every statistic and signal flag of each 2×2 table, as arrays (see the module text).
    ``priors``: the GPS hyperparameters (EBGM/EB05 are NaN without). ``screen_ebgm``: EBGM and EB05
    only for the tables whose EB05 may reach the criterion (``may_reach_eb05``), NaN for the others,
    which saves the quantile search of the many tables that cannot be signals by it."""
    a, b, c, d = _cells(a, b, c, d)
    out: dict[str, np.ndarray] = {"expected": expected_count(a, b, c, d)}
    out["prr"], out["prr_lower"], out["prr_upper"] = prr(a, b, c, d)
    out["chi2"] = chi2_yates(a, b, c, d)
    out["ror"], out["ror_lower"], out["ror_upper"] = ror(a, b, c, d)
    out["ic"], out["ic025"], out["ic975"] = information_component(a, out["expected"])
    only = may_reach_eb05(a, out["expected"], priors, criteria.eb05_min) if screen_ebgm and priors else None
    out["ebgm"], out["eb05"] = ebgm(a, b, c, d, priors, only=only)
    out.update(signal_flags(a, out, criteria))
    return out


def signal_flags(a, values: dict[str, np.ndarray], criteria: Criteria = CRITERIA) -> dict[str, np.ndarray]:
    """The four criteria as boolean arrays (a NaN statistic never meets one)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return {
            "signal_evans": (values["prr"] >= criteria.prr_min) & (values["chi2"] >= criteria.chi2_min)
            & (a >= criteria.a_min),
            "signal_ror": values["ror_lower"] > criteria.ror_lower_above,
            "signal_ic": values["ic025"] > criteria.ic025_above,
            "signal_ebgm": values["eb05"] >= criteria.eb05_min,
        }
