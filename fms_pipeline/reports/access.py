"""The access-loss section of the report and the charts of its asset pages (issue 23): how patients
lost their medication (mechanism), who they name (actor), what it cost them (consequences; the
comments reporting suicidal thoughts are counted, flagged for care, never hidden), stigma, and the
monthly rate per 1,000 comments by mechanism when the texts are dated."""

from __future__ import annotations

from dataclasses import dataclass, field

from fms_pipeline import labels
from fms_pipeline.reports import charts

MECHANISM_COLOURS = labels.colours("access_mechanism")


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])


@dataclass
class AccessSection:
    """What the report shows about access loss."""
    texts: int = 0  # comments (or article bodies) reporting a loss
    fears: int = 0  # comments fearing or asking about one
    stigma: int = 0  # comments with stigma words
    needs_care: int = 0  # comments reporting a loss and suicidal thoughts
    mechanisms: list[tuple[str, int, int]] = field(default_factory=list)  # (mechanism, texts, events)
    actors: list[tuple[str, int]] = field(default_factory=list)  # (actor, texts)
    consequences: list[tuple[str, int]] = field(default_factory=list)  # (consequence, texts)
    drugs: list[tuple[str, int]] = field(default_factory=list)  # (drug, texts)


def _text_id(alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    return f"coalesce({p}comment_id, {p}document_id || ':a')"


def section(con) -> AccessSection | None:
    """The section's figures, None for a warehouse without the access tables."""
    if not (_has_table(con, "access_loss_events") and _has_table(con, "access_mentions")):
        return None
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    t = _text_id()
    found = AccessSection(
        texts=one(f"SELECT count(DISTINCT {t}) FROM access_loss_events"),
        fears=one(f"SELECT count(DISTINCT {t}) FROM access_mentions WHERE label = 'access_fear'"),
        stigma=one(f"SELECT count(DISTINCT {t}) FROM access_mentions WHERE label = 'stigma'"),
        needs_care=one(f"SELECT count(DISTINCT {t}) FROM access_loss_events WHERE needs_care"),
    )
    found.mechanisms = con.execute(
        f"SELECT mechanism, count(DISTINCT {t}), count(*) FROM access_loss_events GROUP BY mechanism "
        "ORDER BY 2 DESC, mechanism").fetchall()
    found.actors = con.execute(
        f"SELECT actor, count(DISTINCT {t}) FROM access_loss_events WHERE actor IS NOT NULL GROUP BY actor "
        "ORDER BY 2 DESC, actor").fetchall()
    found.consequences = con.execute(
        f"SELECT c, count(DISTINCT {t}) FROM (SELECT *, unnest(consequences) AS c FROM access_loss_events) "
        "GROUP BY c ORDER BY 2 DESC, c").fetchall()
    found.drugs = con.execute(
        f"SELECT drug, count(DISTINCT {t}) FROM access_loss_events GROUP BY drug ORDER BY 2 DESC, drug LIMIT 15"
    ).fetchall()
    return found


def mechanisms_png(con) -> bytes | None:
    """Comments reporting each mechanism (dated or not)."""
    if not _has_table(con, "access_loss_events"):
        return None
    rows = con.execute(f"SELECT mechanism, count(DISTINCT {_text_id()}) FROM access_loss_events "
                       "GROUP BY mechanism ORDER BY 2 DESC, mechanism").fetchall()
    if not rows:
        return None
    return charts.bar_chart([m.replace("_", " ") for m, _ in rows], [n for _, n in rows],
                            "How patients lost their medication (comments)", colour=MECHANISM_COLOURS["forced_taper"])


def rate_by_month_png(con) -> bytes | None:
    """Comments reporting each mechanism per 1,000 comments of the month; None when nothing is dated."""
    if not _has_table(con, "access_loss_by_month"):
        return None
    rows = con.execute("SELECT DISTINCT mechanism, month, mechanism_rate_per_1000_comments FROM access_loss_by_month "
                       "ORDER BY month, mechanism").fetchall()
    if not rows:
        return None
    return charts.trend_chart([(m.replace("_", " "), month, rate) for m, month, rate in rows],
                              "Access loss per 1,000 comments, by mechanism",
                              colours={m.replace("_", " "): c for m, c in MECHANISM_COLOURS.items()},
                              max_series=len(MECHANISM_COLOURS))
