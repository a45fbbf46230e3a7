"""The outcome classifier's measured quality, as an asset whose page shows the scores."""

from pathlib import Path

import dagster as dg

from fms_pipeline import storage
from fms_pipeline.defs.resources import PipelineSettings


@dg.asset(
    group_name="models",
    kinds={"spacy", "scikitlearn"},
    owners=["team:fms-pipeline"],
    description=(
        "Precision, recall and F1 per outcome label of the whole load_nlp() pipeline on the PsyTAR dev "
        "sentences (data/psytar/, CC BY 4.0, Zolnoori et al. 2019), and its speed. "
        "Retrain with `fms-pipeline train-outcomes`."
    ),
)
def outcome_label_quality(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    # The labelled sentences ship with the project (data/psytar/); a data folder may hold its own copy.
    folder = Path(settings.data_dir) if storage.is_local(settings.data) else Path("data")
    dev_file = folder / "psytar" / "sentences_dev.tsv"
    # spaCy and scikit-learn load here, not when the definitions load (every run and the UI pay that).
    from fms_pipeline.nlp import evaluation, outcome_model, shared_nlp

    if not dev_file.exists():
        raise dg.Failure(description=f"{dev_file}: the PsyTAR dev split is not there to evaluate on")
    report = evaluation.evaluate(shared_nlp(), dev_file)
    info = evaluation.model_info(outcome_model.model_path())
    rows = "\n".join(
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {evaluation.TARGETS[label]:.2f} |"
        for label, s in report["scores"].items()
    )
    return dg.MaterializeResult(
        metadata={
            **{f"f1_{label}": round(s["f1"], 4) for label, s in report["scores"].items()},
            "words_per_second": round(report["words_per_second"]),
            "scores": dg.MetadataValue.md("| label | precision | recall | F1 | target |\n|---|---|---|---|---|\n" + rows),
            "cross_validated_f1_on_train": dg.MetadataValue.json(info["cross_validated_f1"]),
            "thresholds": dg.MetadataValue.json(info["thresholds"]),
        }
    )
