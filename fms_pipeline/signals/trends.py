"""Breaks in a monthly rate: change points (ruptures) and interrupted time series at policy dates (statsmodels).

A series is a rate per 1,000 comments by calendar month (months with no comment at all have no rate and
are left out; the months keep their calendar distance in the regressions).

* **Change points**: PELT (Killick et al. 2012) on the rate with a least-squares cost (a change in
  mean): ``ruptures.KernelCPD(kernel="linear")``, ruptures' C implementation of penalised PELT with
  that cost (the same breaks as ``ruptures.Pelt(model="l2")``, ~500× faster). The penalty is the modified BIC's (Zhang & Siegmund 2007; the
  default of R's ``changepoint``) for a Gaussian change in mean, ``PENALTY_FACTOR``·σ²·ln n with
  factor 3 (plain BIC's 2 flagged 15% of simulated null series, 3 flags 5.5%), σ estimated robustly
  from the month-to-month differences (MAD/0.6745/√2) so that a step does not inflate it. Segments are
  at least ``MIN_SEGMENT`` months long.
* **Interrupted time series** (segmented regression, Wagner et al. 2002, J Clin Pharm Ther 27:299):
  rate = β0 + β1·t + β2·post + β3·(t − t0)·post, by feasible GLS with AR(1) errors
  (``statsmodels.GLSAR``, iterated Cochrane–Orcutt) because months are autocorrelated (plain OLS
  called 21% of simulated AR(1) null series significant at 5%, Newey–West errors 15% of white-noise
  ones; GLSAR 6–8%); β2 is the level change at the policy month t0
  (the policy's month is the first "after" month), β3 the slope change per month, each with a 95% CI
  and p. Estimated only with at least ``ITS_MIN_SIDE`` months on each side.

Policy dates come from ``policy_dates.csv`` (with sources) and from the CSV files named in the
environment variable ``FMS_POLICY_DATES`` (same columns: date, name, source).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np

MIN_MONTHS = 24  # a series needs this many months with a rate to be analysed
MIN_SEGMENT = 3
PENALTY_FACTOR = 3.0
AR_ITERATIONS = 5
ITS_MIN_SIDE = 6
POLICY_DATES_ENV = "FMS_POLICY_DATES"


@dataclass(frozen=True)
class PolicyDate:
    day: date
    name: str
    source: str

    @property
    def month(self) -> date:
        return self.day.replace(day=1)


def _read_policy_csv(text: str, origin: str) -> list[PolicyDate]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = {"date", "name", "source"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"{origin}: policy dates need the columns date, name, source (missing {', '.join(sorted(missing))})")
    out = []
    for number, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((row["date"] or "").strip())
        except ValueError:
            raise ValueError(f"{origin}: row {number}: date {row['date']!r} is not an ISO date (YYYY-MM-DD)") from None
        if not (row["name"] or "").strip():
            raise ValueError(f"{origin}: row {number}: a policy date needs a name")
        out.append(PolicyDate(day, row["name"].strip(), (row["source"] or "").strip()))
    return out


def policy_dates(extra: list[str] | None = None) -> list[PolicyDate]:
    """The shipped policy dates and the user's (the CSV files ``extra``, else those of
    ``FMS_POLICY_DATES``, see fms_pipeline.settings), by date; a date given twice with the same name is
    kept once."""
    from fms_pipeline.settings import Settings

    shipped = resources.files(__package__).joinpath("policy_dates.csv")
    dates = _read_policy_csv(shipped.read_text(encoding="utf-8"), str(shipped))
    for path in Settings.policy_date_files() if extra is None else extra:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"{path}: no such policy-dates file ({POLICY_DATES_ENV})")
        dates.extend(_read_policy_csv(p.read_text(encoding="utf-8"), path))
    unique = {(d.day, d.name): d for d in dates}
    return sorted(unique.values(), key=lambda d: (d.day, d.name))


def month_number(month: date) -> int:
    return month.year * 12 + month.month - 1


def robust_sigma(values: np.ndarray) -> float:
    """σ of the noise from month-to-month differences (MAD), unaffected by a few steps."""
    diffs = np.diff(np.asarray(values, dtype=np.float64))
    if len(diffs) == 0:
        return 0.0
    return float(np.median(np.abs(diffs - np.median(diffs))) / 0.6744897501960817 / np.sqrt(2))


def change_points(rates, min_segment: int = MIN_SEGMENT, penalty_factor: float = PENALTY_FACTOR) -> list[int]:
    """Indices (into ``rates``) where a new level starts, by PELT with a BIC penalty; [] for none."""
    import ruptures

    y = np.asarray(rates, dtype=np.float64)
    n = len(y)
    if n < 2 * min_segment:
        return []
    sigma = robust_sigma(y)
    if sigma == 0.0:  # a constant series (or one constant but for single months): scale by the spread
        sigma = float(np.std(y))
        if sigma == 0.0:
            return []
    penalty = penalty_factor * sigma ** 2 * np.log(n)
    ends = ruptures.KernelCPD(kernel="linear", min_size=min_segment, jump=1).fit(y.reshape(-1, 1)).predict(pen=penalty)
    return [int(e) for e in ends[:-1]]


@dataclass(frozen=True)
class ItsEstimate:
    level_change: float
    level_lower: float
    level_upper: float
    level_p: float
    slope_change: float
    slope_lower: float
    slope_upper: float
    slope_p: float
    rate_before: float  # the pre-policy line's value at the policy month
    months_before: int
    months_after: int

    @property
    def significant(self) -> bool:
        """The level change's 95% CI excludes 0."""
        return bool(self.level_lower > 0 or self.level_upper < 0)


def interrupted_time_series(months: list[date], rates, policy_month: date,
                            min_side: int = ITS_MIN_SIDE) -> ItsEstimate | None:
    """Segmented regression of ``rates`` (one per month in ``months``) at ``policy_month``; None when
    either side has fewer than ``min_side`` months."""
    import statsmodels.api as sm

    y = np.asarray(rates, dtype=np.float64)
    t = np.array([month_number(m) for m in months], dtype=np.float64)
    t0 = float(month_number(policy_month))
    post = (t >= t0).astype(np.float64)
    before, after = int((post == 0).sum()), int(post.sum())
    if before < min_side or after < min_side:
        return None
    t = t - t0  # β0 + β2 is the level just after, β0 the pre-line's value at the policy month
    x = np.column_stack([np.ones_like(t), t, post, t * post])
    fit = sm.GLSAR(y, x, rho=1).iterative_fit(maxiter=AR_ITERATIONS)
    ci = fit.conf_int(0.05)
    return ItsEstimate(
        level_change=float(fit.params[2]), level_lower=float(ci[2, 0]), level_upper=float(ci[2, 1]),
        level_p=float(fit.pvalues[2]),
        slope_change=float(fit.params[3]), slope_lower=float(ci[3, 0]), slope_upper=float(ci[3, 1]),
        slope_p=float(fit.pvalues[3]),
        rate_before=float(fit.params[0]), months_before=before, months_after=after,
    )


def breaks(months: list[date], rates, policies: list[PolicyDate] | None = None,
           min_months: int = MIN_MONTHS) -> list[dict]:
    """Rows of ``trend_breaks`` for one series: one per change point (method 'pelt': the month the new
    level starts, the mean rate before and after) and one per policy date with enough months on each
    side (method 'its'). [] when the series has fewer than ``min_months`` months."""
    y = np.asarray(rates, dtype=np.float64)
    if len(y) < min_months:
        return []
    if any(b <= a for a, b in zip(months, months[1:])):
        raise ValueError("breaks: months must be in increasing order")
    rows = []
    cuts = change_points(y)
    bounds = [0, *cuts, len(y)]
    for i, cut in enumerate(cuts):
        before, after = y[bounds[i]:cut], y[cut:bounds[i + 2]]
        rows.append({
            "method": "pelt", "month": months[cut], "policy": None,
            "rate_before": float(before.mean()), "rate_after": float(after.mean()),
            "level_change": float(after.mean() - before.mean()),
            "level_lower": None, "level_upper": None, "level_p": None,
            "slope_change": None, "slope_lower": None, "slope_upper": None, "slope_p": None,
            "significant": True,
        })
    for policy in policies if policies is not None else policy_dates():
        estimate = interrupted_time_series(months, y, policy.month)
        if estimate is None:
            continue
        rows.append({
            "method": "its", "month": policy.month, "policy": policy.name,
            "rate_before": estimate.rate_before, "rate_after": estimate.rate_before + estimate.level_change,
            "level_change": estimate.level_change, "level_lower": estimate.level_lower,
            "level_upper": estimate.level_upper, "level_p": estimate.level_p,
            "slope_change": estimate.slope_change, "slope_lower": estimate.slope_lower,
            "slope_upper": estimate.slope_upper, "slope_p": estimate.slope_p,
            "significant": estimate.significant,
        })
    return rows
