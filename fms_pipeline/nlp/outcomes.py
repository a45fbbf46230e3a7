"""Drug outcomes in ``doc.spans["outcomes"]`` and sentence/comment sentiment.

Labels: ``effective``, ``ineffective``, ``adverse_effect``, ``withdrawal`` (decided per
sentence by the classifier trained on PsyTAR and DrugLib ratings, plus the rules tabled below).
``access_loss`` outcomes are added by the ``fms_access_loss`` component that runs after this one
(``access_loss.py``); the access-loss cues here are only classifier features. Each span is the
cue phrase when the sentence has one, else the sentence, with

* ``span._.drug``     canonical of the drug it is about, when the sentence names one; else the
                      drug its row states (``doc._.stated_drug``: a review table's drug column);
                      else the drug named last in the two sentences before ("Started Lyrica in
                      May. Gained 20 lbs.");
* ``span._.events``   for adverse effects and withdrawal, the events it reports (``events.py``:
                      the asserted symptoms and conditions of the sentence tied to this drug);
* ``span._.negated`` / ``span._.hypothetical`` from the same context rules as entities.

Sentences get ``span._.sentiment`` (VADER adjusted for the domain); ``doc._.sentiment`` is
their mean.

The rules kept beside the classifier, and why (classifier trained on PsyTAR + DrugLib weak labels,
``evaluation.train``; F1 on PsyTAR dev, which counts a label found at all; the DrugLib share on the
reviews rated Ineffective that are not held back):

===========================================  ============================================
rule                                         without it
===========================================  ============================================
ineffective phrases ("no benefit",           dev F1 unchanged (0.505); ineffective found in
"did nothing", ``outcome_rule_cues.tsv``)    47% of DrugLib Ineffective reviews, not 55%
effective phrases ("helped me",              effective dev F1 0.728 -> 0.717
"worked wonders")
more effective phrases ("a new person",      effective dev F1 unchanged; out of fold on
"changed my life", "sleeping better",        training 0.676, not 0.686 (11 more found, no
"more stable", s. 13)                        more false); "did help", "a lot better", "first
                                             time in years" were tried: dev 0.725 -> 0.722
a negated drug that does not work            ineffective dev F1 0.505 -> 0.489
("no pain meds work on me")
side-effect denial ("Side effects: none.",   dev F1 unchanged (PsyTAR counts negated labels
"Minimal.", ``no_adverse_effect``)           too); an adverse_effect in such a sentence would
                                             count in ``drug_outcomes``
relief after stopping ("since I stopped      dev F1 unchanged; effective found in 23.9% of
taking it I feel better", ``drug_stopped``)  the training Ineffective reviews, not 24.9%;
("when I stopped taking", "quit the         with the reviewed drug as subject, 38 of 197,
medication", "weaned myself off", s. 11)     not 40 (Highly Effective 552 of 1063, as before)
a denied benefit ("did not experience any    ineffective dev F1 0.535 -> 0.545; ineffective
benefits", "little relief", ``benefit``)     in 60% of training Ineffective reviews, not 52%
                                             (fires in 2.4% of Highly Effective ones)
an event-less adverse effect whose every     dev F1 unchanged; 'No Side Effects' training
symptom is denied, hedged or relieved        texts with one 14.0%, not 14.8% (held-back
                                             19.7%, not 21.8%; severe 92.9%, not 93.8%)
a treatment that is no medicine credited,    dev F1 unchanged; training reviews with an
no drug named ("The counselling does         effective outcome of the reviewed drug: rated
wonders for me", ``other_treatment``, s. 11) Ineffective 38 of 197, not 39 (Highly
                                             Effective 553 of 1063, not 554: "Chiropractic
                                             and massage helps, but these patches ...")
a treatment that is no medicine blamed       dev figures and the training side-effect
("Yoga gave me a headache", no drug named,   texts' shares unchanged; without it, "I take
``events.other_treatment_caused``, s. 11)    Lyrica. Yoga gave me a headache." is a
                                             pregabalin-headache report
withdrawal named or a missed dose            withdrawal dev F1 0.602, not 0.604; out of fold
("missed my dose", ``outcome_rule_cues``)    on training 0.563, not 0.572
withdrawal named only to be denied ("had no  withdrawal dev F1 0.604, not 0.617; out of fold
withdrawals", ``withdrawal_denial``): no     on training 0.574, not 0.579 (other figures
withdrawal outcome at all                    unchanged)
a question ("Withdrawal?", "should I go      withdrawal dev F1 0.617, not 0.624; out of fold
off it?"): no withdrawal outcome             on training 0.579, not 0.581
stopping said to be hard ("Going off this    withdrawal dev F1 unchanged; out of fold on
drug was horrible", ``stopping``,            training 0.581, not 0.587
``hardship``)
the exception to a side-effect denial        adverse_effect dev F1 0.808, not 0.811; the
("none except for slight tiredness",         'No Side Effects' training texts read one by
``excepted_from_a_denial``, s. 13)           one: recall 0.53, not 0.59, precision 0.68,
                                             not 0.69
a complaint said to be relieved ("took       effective dev F1 0.725, not 0.741; out of fold
away all the depression", "Anxiety was       on training 0.687, not 0.696 (11 fewer found,
greatly decreased", ``relieved_complaint``,  none of them false); pain as a complaint was
eff-study)                                   tried: 1 more found, 4 more false
relief denied of a drug named as the subject  PsyTAR out of fold and dev unchanged; no change
("Lyrica did not reduce my pain at all",      on DrugLib's 3,000 training reviews either (their
``relief_denied``, s. 15)                     writers say "didn't help")
pain forums' wordings ("barely touched the    PsyTAR's sentences never use them: out of fold
pain", "pooped out", "the only thing that     on training ineffective 0.487 -> 0.490 (+1),
helps") and a pain score that fell or rose    effective and withdrawal unchanged; dev
(``pain_score_change``, s. 15)                unchanged
a drug named as giving the events, no stop,   withdrawal out of fold on training 0.599 ->
miss or withdrawal word: adverse effect, not 0.601 (2 fewer false, none lost); PsyTAR dev
the classifier's withdrawal (s. 15)           unchanged
pain relieved by a drug that is the relieving PsyTAR dev and out of fold on training
word's subject ("Cymbalta reduced my pain",  unchanged (0.741; 0.710): PsyTAR's sentences
``PAIN_COMPLAINTS``, ``_drug_subject``, s. 15) seldom say so; it is what pain patients write
a complaint said to be over ("I don't have    effective dev F1 unchanged (0.741); out of fold
panic attacks anymore", "no longer feel      on training 0.706, not 0.711 (5 fewer found,
suicidal", ``_no_longer``, s. 13)            none of them false)
more effective phrases ("couldn't live        effective dev F1 unchanged (0.741); out of fold
without it", "did wonders", "did the         on training 0.696, not 0.706 (12 fewer found,
trick", eff-study), none before "for some    1 fewer false); without "for some people" the
people" (``_for_others``)                    dev F1 0.738 ("works really well for some")
a heading is a label ("Side effects review:   review-table side-effect texts read one by one
No", "Side effects review: I had no side     (the 742 'No Side Effects' training texts, headed
effects"): the writer's own cue anchors the  as the tabular parser heads them): found in 154,
outcome, a bare "no" answers (``heading_end``, precision 0.67, recall 0.78, not 144, 0.71,
``answers_no``, s. 14)                       0.77; PsyTAR dev figures unchanged
symptoms after "stopped taking" are had   dev, out of fold and the event set unchanged;
(``context`` category ``stopped``), the      without it "When I stopped taking Effexor I had
withdrawal's only: an adverse effect whose   terrible headaches" is a withdrawal with no event,
events all follow the stop is negated, s.14  and read as a review of Effexor "When I stopped
                                             taking it ..." was an adverse effect too
a causing verb with "it"/"which" as subject  dev unchanged; without it "I stopped taking Lyrica
after a stopped drug is the drug acting      since it made me dizzy" is a pregabalin withdrawal
(``events.caused_by_it``, s. 14)
why a drug was stopped ("I quit Cymbalta     dev, out of fold and the event set unchanged; on
because of the nausea", the symptoms right  3,000 DrugLib reviews 4 more adverse-effect
after "because of"/"due to" after a drug    mentions with their events ("decided to
the writer stopped, ``events.stop_reasons``, discontinue lunesta because of the amnesia like
s. 14): its adverse effect, not withdrawal   side effects"); without it "I quit Cymbalta
                                             because of the nausea" reports nothing
a symptom under a side-effects heading       on DrugLib's training reviews headed as the
("Side effects review: ... I yawn            review-table parser heads them (2,470, not held
excessively.", "SE: ..."), no other drug     back): reviews with an adverse effect 2,146, not
named: the stated drug's adverse effect,     2,122; the 'No Side Effects' texts read one by
``under_side_effects_heading``, s. 16         one, headed: 153 found, precision 0.70, recall
                                             0.81, not 142, 0.72, 0.77; PsyTAR dev unchanged
the classifier's withdrawal under a side-    on the same reviews (with a blank line starting a
effects heading with no stop, cut, missed    sentence, below) 223 withdrawal events and 68
or untaken dose (``says_stopping``), s. 16:  reviews with withdrawal fewer, of which nearly
adverse effect                               all read were lists of effects while taking it
... and anywhere, s. 17                      PsyTAR training out of fold withdrawal F1 0.602,
                                             not 0.598 (precision 0.582, not 0.571); dev 0.652,
                                             not 0.624
what a missed dose, a stop or a dose         'No Side Effects' training texts read, headed:
wearing off brought ("Headaches if missed    147 found, precision 0.75, not 153, 0.72; out of
dosages", ``missed_dose_or_stop_at``, s. 17): fold adverse_effect F1 0.783, not 0.782
withdrawal, not an adverse effect
a review table's side-effects column about   real side-effect texts read (380 then): recall
its row's patient whoever writes it ("My     0.789, not 0.779
son developed a rash", s. 17)
the reader wished well ("Good luck,          effective dev F1 unchanged; out of fold on
everyone.", ``well_wishing``, s. 19): no     training 0.716, not 0.718 (5 fewer false, none
effective from the classifier alone, where   lost)
no drug and no "me"/"my" is named
the classifier's effective where a rule      effective dev F1 0.741, not 0.747 (precision
says the drug did not work, with no turn     0.738, not 0.750); out of fold on training
and no second drug ("I don't feel any        0.716, not 0.718; training reviews rated
better", s. 19)                              Ineffective with effective 40, not 39
===========================================  ============================================

A blank line starts a sentence (``pipeline.SentenceCap``, s. 16): spaCy's sentencizer splits on punctuation only, so
a review table's three columns ("Benefits review: less anxiety\n\nSide effects review: ...") ran on as one sentence
and a benefit's relieved complaint was read as a side effect. On DrugLib's 2,470 training reviews (not held back),
headed as the parser heads them: 270 review-drug-event pairs lost, 223 gained (of those read, the lost were relief and
indications, the gained effects listed in the side-effects column); held-back reviews rated Ineffective with
ineffective found 42% -> 46%.

The relief of stopping reaches the sentences after a stop that name no other drug ("I quit Cymbalta in June. I feel
so much better now." was duloxetine working; ``stopped_before``, s. 16; forum text: a review table's row has its drug).

The classifier's ineffective counts only where its effective probability is below
``outcome_model.INEFFECTIVE_UNLESS_EFFECTIVE`` (without it: ineffective dev F1 0.545, not 0.557).

Rules alone find little (dev F1 effective 0.15, ineffective 0.28): they add to the classifier.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache

import numpy as np
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import hash_string
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from fms_pipeline.nlp import context, events, extensions, outcome_model, sentiment
from fms_pipeline.nlp.drug_lexicon import _vocabulary_rows, read_vocabulary

OUTCOME_LABELS = ("effective", "ineffective", "adverse_effect", "withdrawal", "access_loss")
DRUG_LABELS = ("DRUG", "DRUG_CLASS")
WORK_VERBS = frozenset({"work", "works", "worked", "working", "help", "helps", "helped", "helping"})
EXCEPTIONS = frozenset(p for p in events.EXCEPTION_PHRASES if " " not in p)  # except, besides, but

extensions.register("drug", None)
extensions.register("events", ())
HARM_LABELS = ("adverse_effect", "withdrawal")
PREVIOUS_SENTENCES = 2  # how far back a sentence without a drug looks for the drug it is about
extensions.register("sentiment", 0.0)
# The sentence's tone as VADER reads it, corrected for the domain (drug names neutral, the
# sentence's outcomes setting the sign): readable sentence by sentence, where the rating-trained
# ``sentiment`` is calibrated for whole comments.
extensions.register("tone", 0.0)
if not Doc.has_extension("sentiment"):
    Doc.set_extension("sentiment", default=0.0)
# The drug a review table's row states it is about (its drug column, as a generic name): the
# subject of every outcome in the text that names no drug of its own (set before the pipeline runs).
if not Doc.has_extension("stated_drug"):
    Doc.set_extension("stated_drug", default=None)


@cache
def cue_phrases() -> dict[str, list[str]]:
    return {label: [v for v in variants if v != label] for label, variants in read_vocabulary("outcome_cues.tsv").items()}


@cache
def rule_cue_phrases() -> dict[str, list[str]]:
    """The deciding phrases per label, of every line of the label. ``read_vocabulary`` adds each label's name as a
    phrase of its own; here it is one only where a line lists it ("ineffective" yes, "effective" no: "not effective"
    would otherwise decide ``effective``)."""
    out: dict[str, list[str]] = {}
    for _, label, _, phrases in _vocabulary_rows("outcome_rule_cues.tsv"):
        out.setdefault(label, []).extend(phrases)
    return {label: list(dict.fromkeys(phrases)) for label, phrases in out.items()}


class DrugOutcomes:
    """The ``fms_outcomes`` pipeline component (after the entity ruler and ``fms_context``)."""

    def __init__(self, nlp: Language):
        self.nlp = nlp
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.cue_table: dict[str, list[str]] = {}
        self.rule_cue_table: dict[str, list[str]] = {}
        self.rule_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.classifier: outcome_model.OutcomeClassifier | None = None  # None: no classifier labels, rules only
        self.sentiment_model: outcome_model.SentimentRegressor | None = None  # None: VADER's compound
        self.context = nlp.get_pipe("fms_context") if "fms_context" in nlp.pipe_names else context.EntityContext(nlp)

    # -- data: cue phrases and classifier arrays, from the shipped files or a saved pipeline ---
    def initialize(self, get_examples=None, *, nlp: Language | None = None, cues: dict[str, list[str]] | None = None,
                   rule_cues: dict[str, list[str]] | None = None,
                   classifier=None, sentiment_model=None) -> None:
        # classifier (an outcome_model.OutcomeClassifier) and sentiment_model (a SentimentRegressor) are
        # unannotated: nlp.initialize() validates these settings with pydantic, which cannot resolve
        # "outcome_model.X" from here.
        self._set_cues(cue_phrases() if cues is None else cues,
                       rule_cue_phrases() if rule_cues is None else rule_cues)
        self.classifier = outcome_model.load_classifier() if classifier is None else classifier
        self.sentiment_model = outcome_model.load_sentiment_model() if sentiment_model is None else sentiment_model
        if not self.context.initialized:  # a context of its own (no fms_context in the pipeline)
            self.context.initialize(nlp=nlp)

    def _set_cues(self, cues: dict[str, list[str]], rule_cues: dict[str, list[str]]) -> None:
        self.cue_table = {label: list(phrases) for label, phrases in cues.items()}
        self.rule_cue_table = {label: list(phrases) for label, phrases in rule_cues.items()}
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for label, phrases in self.cue_table.items():
            self.matcher.add(label, list(self.nlp.tokenizer.pipe(phrases)))
        self.rule_matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for label, phrases in self.rule_cue_table.items():
            self.rule_matcher.add(label, list(self.nlp.tokenizer.pipe(phrases)))

    def to_disk(self, path, *, exclude=()) -> None:
        """``cues.json`` and, when there is a classifier, one ``classifier/<field>.npy`` per array."""
        import dataclasses

        import srsly
        from spacy import util

        path = util.ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "cues.json", self.cue_table)
        srsly.write_json(path / "rule_cues.json", self.rule_cue_table)
        for folder, model in (("classifier", self.classifier), ("sentiment_model", self.sentiment_model)):
            if model is not None:
                (path / folder).mkdir(exist_ok=True)
                for field in dataclasses.fields(model):
                    np.save(path / folder / f"{field.name}.npy", np.asarray(getattr(model, field.name)),
                            allow_pickle=False)

    def from_disk(self, path, *, exclude=()) -> DrugOutcomes:
        import dataclasses

        import srsly
        from spacy import util

        path = util.ensure_path(path)
        self._set_cues(srsly.read_json(path / "cues.json"), srsly.read_json(path / "rule_cues.json"))
        def load(folder: str, cls):
            arrays = path / folder
            if not arrays.is_dir():
                return None
            fields = {f.name: np.load(arrays / f"{f.name}.npy", allow_pickle=False) for f in dataclasses.fields(cls)}
            return cls(**{k: (v.item() if v.ndim == 0 else v) for k, v in fields.items()})

        self.classifier = load("classifier", outcome_model.OutcomeClassifier)
        self.sentiment_model = load("sentiment_model", outcome_model.SentimentRegressor)
        if not self.context.initialized:
            self.context.initialize(nlp=self.nlp)
        return self

    def rule_cues(self, doc: Doc) -> list[Span]:
        """The deciding cue phrases (``vocab/outcome_rule_cues.tsv``) of a doc."""
        return [Span(doc, s, e, label=doc.vocab.strings[m]) for m, s, e in self.rule_matcher(doc)]

    # -- features --------------------------------------------------------------------
    def cues(self, doc: Doc) -> list[Span]:
        spans = [Span(doc, s, e, label=doc.vocab.strings[m]) for m, s, e in self.matcher(doc)]
        # Longest cue wins where cues overlap ("didn't help" over "help").
        spans.sort(key=lambda sp: (sp.start, -(sp.end - sp.start)))
        kept: list[Span] = []
        for span in spans:
            if kept and span.start < kept[-1].end and span.label_ != kept[-1].label_:
                continue
            kept.append(span)
        return kept

    def sentence_features(
        self, sentences: list[Span], cues: list[list[Span]], ents: list[list[Span]]
    ) -> outcome_model.SentenceFeatures:
        """Classifier features of each sentence, computed from whole-doc token arrays
        (``doc.to_array``) rather than token by token."""
        words, chars, negation, symptoms = outcome_model.sentence_counts(sentences)
        if not sentences:
            return outcome_model.SentenceFeatures(words, chars, np.zeros((0, outcome_model.N_DENSE), dtype=np.float32),
                                                  np.zeros(0))
        doc_texts: dict[int, str] = {}
        for sentence in sentences:
            if id(sentence.doc) not in doc_texts:
                doc_texts[id(sentence.doc)] = sentence.doc.text
        vader = sentiment.polarities(
            [neutral_drug_text(s, e, doc_texts[id(s.doc)]) for s, e in zip(sentences, ents)])
        cue_counts = np.zeros((len(sentences), len(outcome_model.CUE_LABELS)))
        column = {self.nlp.vocab.strings[label]: j for j, label in enumerate(outcome_model.CUE_LABELS)}
        for row, sentence_cues in enumerate(cues):
            for cue in sentence_cues:
                cue_counts[row, column[cue.label]] += 1
        dense = np.column_stack([
            np.minimum(cue_counts, 3), np.minimum(symptoms, 3), negation,
            vader[:, 3], vader[:, 2], vader[:, 0],
        ]).astype(np.float32)
        return outcome_model.SentenceFeatures(words, chars, dense, vader[:, 3], chars_duplicate_free=True)

    # -- the component ---------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 256):
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._process(batch)
                batch = []
        if batch:
            yield from self._process(batch)

    def _process(self, docs: list[Doc]) -> list[Doc]:
        per_doc = []
        all_sentences: list[Span] = []
        all_cues: list[list[Span]] = []
        all_ents: list[list[Span]] = []
        for doc in docs:
            sentences = list(doc.sents)
            sentence_cues = by_sentence(sentences, self.cues(doc))
            sentence_ents = by_sentence(sentences, list(doc.ents))
            sentence_rule_cues = by_sentence(sentences, self.rule_cues(doc))
            per_doc.append((doc, sentences, sentence_cues, sentence_ents, sentence_rule_cues))
            all_sentences.extend(sentences)
            all_cues.extend(sentence_cues)
            all_ents.extend(sentence_ents)
        features = self.sentence_features(all_sentences, all_cues, all_ents)
        if self.classifier is not None:
            probabilities = self.classifier.probabilities(features)
            predicted = self.classifier.labelled(probabilities)
        else:
            probabilities = np.zeros((len(all_sentences), len(outcome_model.MODEL_LABELS)))
            predicted = probabilities.astype(bool)
        # Sentence sentiment: the rating-trained regressor where there is one, else VADER's compound.
        if self.sentiment_model is not None and self.classifier is not None:
            compound = self.sentiment_model.scores(features, probabilities).tolist()
        else:
            compound = features.compound.tolist()
        vader_compound = features.compound.tolist()
        # Each row's labels, from the row's bits: one set per distinct combination, not per sentence.
        codes = predicted.astype(np.int64) @ (1 << np.arange(predicted.shape[1]))
        by_code = {int(c): frozenset(outcome_model.MODEL_LABELS[j] for j in range(predicted.shape[1]) if c >> j & 1)
                   for c in np.unique(codes)}
        label_sets = [by_code[c] for c in codes.tolist()]
        row = 0
        for doc, sentences, sentence_cues, sentence_ents, sentence_rule_cues in per_doc:
            spans: list[Span] = []
            scores = []
            recent_drugs: list[tuple[int, str]] = []  # (sentence number, canonical) of the drugs named so far
            recent_stops: list[tuple[int, str]] = []  # (sentence number, canonical) of the drugs said to be stopped
            for number, (sentence, cues, ents, rule_cues) in enumerate(
                    zip(sentences, sentence_cues, sentence_ents, sentence_rule_cues)):
                labels = label_sets[row]
                # Most sentences have no outcome label, no deciding or access-loss cue and no negated drug:
                # nothing to decide.
                undecided = labels or rule_cues or any(
                    (e.label_ in DRUG_LABELS and extensions.value(e, "negated")) or e.label_ in events.EVENT_LABELS
                    for e in ents)
                if undecided:
                    previous = next((d for n, d in reversed(recent_drugs) if number - n <= PREVIOUS_SENTENCES), None)
                    # "SE: drowsy, dizzy, puffy hands. Neurontin 900 a day": a list of events before the
                    # sentence that names the drug, with no drug before it; not when that sentence
                    # reports symptoms of its own ("Weight gain was awful. Cymbalta gave me nausea.").
                    after = sentence_ents[number + 1] if previous is None and number + 1 < len(sentence_ents) else ()
                    following = None if any(e.label_ == "SYMPTOM" for e in after) else next(
                        (e.ent_id_ for e in after if _asserted_drug(e)), None)
                    stopped = next((d for n, d in reversed(recent_stops) if number - n <= PREVIOUS_SENTENCES), None)
                    found = self.outcomes_of(sentence, cues, ents, labels, rule_cues, previous, following,
                                             stopped if stopped is not None and previous in (None, stopped) else None)
                else:
                    found = []
                if found and number and spans and _lists_the_symptoms(sentence) and _withdrawal_ends(spans, sentences[
                        number - 1]):
                    # "... I have moderate withdrawal symptoms. These symptoms include itchiness, irritability and
                    # headaches.": the list is the withdrawal's (session 18, DrugLib 338)
                    found = [_as_withdrawal(s) if s.label_ == "adverse_effect" else s for s in found]
                recent_drugs.extend((number, e.ent_id_) for e in ents if _asserted_drug(e))
                # A stop said to have happened: not "I never stopped Cymbalta", "I can't stop it", "thinking about
                # stopping Savella".
                recent_stops.extend((number, e.ent_id_) for e in ents if e.label_ in DRUG_LABELS and (
                    events.preceded_by(e, "drug_stopped", sentence) or self.context.assess(e).stopped)
                    and not extensions.value(e, "hypothetical") and not _negation_before(e, sentence))
                if not found:
                    score = compound[row]
                elif self.sentiment_model is None or self.classifier is None:
                    score = sentiment.adjusted(compound[row], {s.label_ for s in found})
                else:
                    # The regressor saw the classifier's outcomes; the rules' (access loss, a negated
                    # drug that does not work) only set the sign.
                    score = sentiment.signed(compound[row], {s.label_ for s in found} - labels)
                extensions.set_values(sentence, sentiment=score, tone=(
                    sentiment.adjusted(vader_compound[row], {s.label_ for s in found}) if found
                    else vader_compound[row]))
                spans.extend(found)
                scores.append(score)
                row += 1
            doc.spans["outcomes"] = spans
            doc._.sentiment = float(np.mean(scores)) if scores else 0.0
        return docs

    def _holds_negation(self, entity: Span) -> bool:
        """Whether one of the context component's negation triggers lies inside the entity ("don't feel like
        myself"): the entity's own, which the component does not apply to what follows."""
        return any(trigger.category == "negated" and entity.start <= start and end <= entity.end
                   for start, end, trigger in self.context.find_triggers(entity.doc))

    def outcomes_of(self, sentence: Span, cues: list[Span], ents: list[Span], labels: set[str],
                    rule_cues: list[Span] = (), previous_drug: str | None = None,
                    next_drug: str | None = None, stopped_before: str | None = None) -> list[Span]:
        """The outcome spans of a sentence with these labels; ``previous_drug``: the drug named last
        in the sentences before, the subject of outcomes that name none (after the row's drug);
        ``next_drug``: the drug of the next sentence, the subject of the adverse events of a sentence
        with no drug before it; ``stopped_before``: a drug the sentences before said was stopped, and named no
        other after it ("I quit Cymbalta in June. I feel so much better now.": the relief of stopping)."""
        doc = sentence.doc
        drugs = [e for e in ents if e.label_ in DRUG_LABELS]
        labels = set(labels)
        # The classifier's effective, given back below unless a rule says the drug did not work. Not where the reader
        # is only wished well ("Good luck, everyone.", "I hope this has helped you"; an effective phrase below still
        # decides: "Good luck, it worked wonders for me"), with no drug and none of the writer's own lot named ("God
        # bless Savella, it gave me my life back").
        classifier_effective = "effective" in labels and not (
            any(c.label_ == WELL_WISHING for c in rule_cues) and not drugs and not any(
                t.lower_ in _ME_WORDS for t in sentence))
        classifier_ineffective = "ineffective" in labels
        labels.discard("effective")
        exceptions: list[Span] = []
        # "NO PAIN MEDS WORK ON ME ... EXCEPT HIGH DOSE METHADONE": a negated drug that does not work.
        negated_drugs = [d for d in drugs if d._.negated]
        not_working: list[Span] = []
        denied_list = _denied_in_list(negated_drugs, sentence)
        if negated_drugs and (any(t.lower_ in WORK_VERBS for t in sentence) or (_did_anything(sentence) and denied_list)):
            labels.add("ineffective")
            # Every drug of the denial ("Neither Lyrica nor gabapentin did anything", "Nothing has worked, not
            # Lyrica, not Cymbalta"), not one stopped ("since I quit Lyrica nothing has worked").
            not_working = [d for d in denied_list if not events.preceded_by(d, "drug_stopped", sentence)]
            exception_at = next((t.i for t in sentence if t.lower_ in EXCEPTIONS and t.i > negated_drugs[0].end), None)
            if exception_at is not None:
                exceptions = [d for d in drugs if d.start > exception_at and not d._.negated]
                if exceptions:
                    labels.add("effective")
        # "I received no benefit", "Cymbalta did nothing for my pain": phrases that say it outright.
        # An effective phrase that is negated or inside an ineffective one decides nothing ("it has
        # not helped me", "it never worked for me": "never worked" is the ineffective phrase).
        deciding = [c for c in rule_cues if c.label_ in OUTCOME_LABELS and not self.context.assess(c).hypothetical]
        ineffective_cues = [c for c in deciding if c.label_ == "ineffective"]
        labels |= {c.label_ for c in deciding if (c.label_ != "effective" or not (
            self.context.assess(c).negated or any(c.start < i.end and i.start < c.end for i in ineffective_cues)
            or _after_nothing(c, sentence) or _for_others(c, sentence) or _only_thing_not_drug(c, sentence, drugs)
            # inside a symptom that holds its negation ("I don't feel like myself again yet"), or asked about ("Did
            # you ever feel normal again after Paxil?"): no report that it worked
            or any(e.label_ in events.EVENT_LABELS and e.start < c.end and c.start < e.end
                   and self._holds_negation(e) for e in ents)
            or events.is_question(sentence) or _wished(c, sentence)))
            and not _tolerance_to_effects(c, sentence, ents)}
        # "It took away all the depression", "Anxiety was greatly decreased": a complaint relieved.
        relief_of_stopping = events.relief_of_stopping(sentence, rule_cues, drugs) or (
            stopped_before is not None and not drugs and not doc._.stated_drug
            and not _it_works(sentence, [c for c in (*cues, *rule_cues) if c.label_ == "effective"]))
        other_treatment = events.other_treatment_helped(sentence, rule_cues, drugs)
        if not (relief_of_stopping or other_treatment) and relieved_complaint(sentence, rule_cues, ents, self.context):
            labels.add("effective")
        said_not_to_work = bool(ineffective_cues)
        if events.denied_benefit(sentence, rule_cues):  # "I did not experience any benefits"
            labels.add("ineffective")
            said_not_to_work = True
        if relief_denied(sentence, rule_cues, ents):  # "Lyrica did not reduce my pain at all"
            labels.add("ineffective")
            said_not_to_work = True
        # The classifier's effective yields to a rule that says the drug did not work, in a sentence with no turn
        # ("Six months later and I don't feel any better", "I did not feel any less depressed": it reads "better",
        # "less depressed"); not where the classifier says both itself. PsyTAR training sentences out of fold:
        # effective F1 0.713 -> 0.715, 6 false found fewer, 1 true (session 19).
        # Nor where the sentence names a second drug ("Tramadol did nothing, oxycodone works much better").
        if classifier_effective and not (said_not_to_work and not classifier_ineffective
                                         and len({d.ent_id_ for d in drugs}) < 2
                                         and not any(t.lower_ in _EFFECTIVE_TURNS for t in sentence)):
            labels.add("effective")
        # "Side effects: none.", "Minimal.", "None that I noticed.": the sentence denies side effects.
        heading = heading_end(sentence)
        denied = denies_adverse_effects(sentence, rule_cues, ents) or (
            heading is not None and answers_no(sentence, heading, ents))
        treatment_harm = events.other_treatment_caused(sentence, rule_cues, drugs)
        # A drug negated only by being stopped or missed ("two days without cymbalta", "didn't have my
        # hydrocodone") is still the one whose withdrawal the sentence reports.
        acting = [d for d in drugs if not d._.hypothetical and (
            not d._.negated or events.preceded_by(d, "drug_stopped", sentence) or self.context.assess(d).stopped)]
        # A sentence the classifier calls harmful carries its events even with no drug known when it speaks
        # of a medicine's doing ("Gave me the worst dry mouth.", "The new pills gave me a rash.").
        drug_known = bool(acting or doc._.stated_drug or previous_drug or next_drug)
        has_drug = drug_known or (bool(labels & set(HARM_LABELS)) and events.speaks_of_a_medicine(sentence, ents))
        column_patient = column_patient_of(sentence) if doc._.stated_drug else None
        asserted = (events.asserted_events(sentence, ents, column_patient=column_patient)
                    if has_drug and any(e.label_ in events.EVENT_LABELS for e in ents) else [])
        if asserted and not labels & set(HARM_LABELS) and drug_known and _events_of_a_stop(sentence, asserted):
            # "I had trouble with insomnia after I discontinued the treatment", "if I do not take it I get tired":
            # what a stop, a missed dose or a lowered one brought, where the classifier says nothing (session 18).
            labels.add("withdrawal")
        if asserted and not labels & set(HARM_LABELS):
            # Where the classifier says nothing: "Cymbalta, Lyrica and Savella all gave me nausea" (a cue
            # says a drug caused it), "cymbalta 90mg and I cant poop" (a drug acts on the patient),
            # "came off Cymbalta ... dizzy" (a drug stopped): events the patient has, whatever the model says.
            context = events.drug_context(sentence, acting, ents, asserted)
            if not acting and not context and drug_known:
                # With no drug named, "the medication" or "these pills" stands for the one being spoken of
                # ("I felt dizzy on the medication", "this drug made me sweat"), as acting only: stopping "the
                # medication" is too often why or after an effect lingered ("I took myself off the medication
                # because the stomach issues...", "the rash has yet to clear up a week off the drug").
                context = "adverse_effect" if events.drug_context(
                    sentence, events.medicine_words(sentence), ents, asserted) == "adverse_effect" else None
            if any(events.is_caused(e, sentence) for e in asserted):
                labels.add(context if context == "withdrawal" else "adverse_effect")
            elif context and any(
                    e.label_ == "SYMPTOM" and not events.is_indication(e.ent_id_) for e in asserted):
                labels.add(context)
            elif not drugs and drug_known and any(e.label_ == "SYMPTOM" and not events.is_indication(e.ent_id_)
                                                  and under_side_effects_heading(e, answered_yes=True)
                                                  for e in asserted):
                # "Side effects review: ... I yawn excessively.": the column (or the writer's "SE:") asks what
                # the drug did; a symptom the writer says he has there, no other drug named, is its answer.
                labels.add("adverse_effect")
        # "I quit Cymbalta because of the nausea": why a drug was stopped is its adverse effect, whatever the
        # classifier made of the stop (and not also a withdrawal event, below).
        reasons = events.stop_reasons(sentence) if asserted else frozenset()
        if reasons and any(e.start in reasons for e in asserted):
            labels.add("adverse_effect")
        # "It was very hard to come off", "Going off this drug was horrible": stopping it was hard.
        if hard_to_stop(sentence, rule_cues, self.context):
            labels.add("withdrawal")
        # "My pain went from a 9 to a 4 on Butrans": a pain score that fell is the drug working (one that rose, not);
        # the classifier's withdrawal read "went from" as a dose cut.
        # Not after a stop: "since stopping Cymbalta my pain went from a 4 to an 8" is the stop's, not the drug's.
        change = pain_score_change(sentence)
        if change is not None and not any(events.preceded_by(d, "drug_stopped", sentence) for d in drugs):
            labels.add(change)
            if not any(c.label_ == "withdrawal" for c in rule_cues):
                labels.discard("withdrawal")
        # "I had no withdrawals", "didn't experience the withdrawal symptoms": withdrawal named only to be denied,
        # no symptom asserted: no withdrawal outcome at all (PsyTAR does not label such sentences withdrawal).
        # Nor is a question one ("Withdrawal?", "should I go off it?"): it asks, it reports none (none of the 42
        # PsyTAR training questions is labelled withdrawal; a question asserts no events either).
        if "withdrawal" in labels and not asserted and (
                denies_withdrawal(sentence, rule_cues) or asks_about_withdrawal(sentence, rule_cues)):
            labels.discard("withdrawal")
        # "No side effects except slight tiredness", "none I have noticed other than drowsiness": the exception
        # is an effect had, whatever the classifier made of the denial.
        if asserted and drug_known and not labels & set(HARM_LABELS) and excepted_from_a_denial(sentence, asserted):
            labels.add("adverse_effect")
        # "Nucynta gave me terrible night sweats": a drug named as doing it, no stop, miss or withdrawal word: the
        # classifier's withdrawal (sweats, zaps, flu-like feelings are its words) is the drug's adverse effect.
        if ("withdrawal" in labels and asserted and acting
                and not any(c.label_ == "withdrawal" for c in rule_cues)
                and events.drug_context(sentence, acting, ents, asserted) == "adverse_effect"
                and any(events.is_caused(e, sentence) for e in asserted)):
            labels.discard("withdrawal")
            labels.add("adverse_effect")
        # "Side effects review: Joint pain, back pain and cramping", "Since starting Lipitor I have muscle weakness":
        # symptoms had with no stop, missed dose or withdrawal named are what the drug did while taken; the
        # classifier's withdrawal (lists of symptoms are its words too) needs one of those. (Session 16 kept this to
        # side-effects columns; everywhere, session 17: PsyTAR training sentences out of fold, withdrawal F1 0.598 ->
        # 0.602, precision 0.571 -> 0.582; dev 0.624 -> 0.652.)
        if ("withdrawal" in labels and asserted and not any(c.label_ == "withdrawal" for c in rule_cues)
                and not says_stopping(sentence)):
            labels.discard("withdrawal")
            labels.add("adverse_effect")
        # "Headaches if missed dosages", "severe hair loss after terminating the pill", "anxiety returned when the drug
        # wore off": what came of a dose missed or the drug stopped is its withdrawal, not an effect of taking it
        # (unless a cue says the drug did it, or it is why the drug was stopped: "I stopped it because of the rash").
        # In a sentence that says both ("sweating like crazy, and if I miss a dose I get dizzy"), the events of the
        # miss are those after it and the list right before it ("dizziness and vertigo upon missed dose"); the others
        # stay the drug's adverse effects.
        by_label: dict[str, set[str]] | None = None
        missed_at = missed_dose_or_stop_at(sentence) if labels & set(HARM_LABELS) and asserted else None
        if missed_at is not None:
            of_the_miss = events_of_the_miss([e for e in asserted if e.start not in reasons], missed_at, sentence)
            # A list before the miss that a cue says the drug caused is the drug's ("Cymbalta gave me nausea and
            # dizziness when I stopped it"); after it, "got" is no cause ("when it wore off I got the sweats").
            if any(e.end <= missed_at and events.is_caused(e, sentence) for e in of_the_miss):
                of_the_miss = [e for e in of_the_miss if e.start >= missed_at]
            if of_the_miss:
                taking = [e for e in asserted if e not in of_the_miss]
                labels.add("withdrawal")
                if not taking:
                    labels.discard("adverse_effect")
                else:
                    labels.add("adverse_effect")
                    by_label = {"withdrawal": _terms(of_the_miss), "adverse_effect": _terms(taking)}
        tied: dict[Span | None, list[str]] = {}
        if asserted and labels & set(HARM_LABELS):
            tied = events.events_by_drug(asserted, acting, sentence)
        out: list[Span] = []
        exoneration: tuple[frozenset[str], bool] | None = None  # events.exonerated, once the sentence needs it
        for label in OUTCOME_LABELS:
            if label not in labels:
                continue
            label_cues = [c for c in cues if c.label_ == label]
            # "Side effects review: I had no side effects": a heading's words label the answer; where the writer's
            # own words name the outcome too, they are its anchor (and their negation is the outcome's).
            if heading is not None and any(c.start > heading for c in label_cues):
                label_cues = [c for c in label_cues if c.start > heading]
            # The first cue the sentence asserts: "I was worried about weight gain and I gained 15 pounds"
            # reports the second (the first is hypothetical, and the outcome takes its anchor's context).
            asserted_cues = [c for c in label_cues if not self.context.assess(c).hypothetical] if len(
                label_cues) > 1 else label_cues
            anchor = (asserted_cues or label_cues or [sentence])[0]
            if label == "effective" and exceptions:
                targets = exceptions
            elif label == "ineffective" and not_working:
                targets = not_working
            elif label == "ineffective" and negated_drugs:
                targets = negated_drugs[:1]
            elif label == "access_loss":
                targets = [d for d in drugs if not d._.hypothetical] or [None]
            elif label in HARM_LABELS and any(d is not None for d in tied):
                # Each drug its events are tied to: "Lyrica made me gain weight and Cymbalta made me sweat".
                targets = [d for d in tied if d is not None]
            elif label in HARM_LABELS and tied and acting and set(events.remedies_of(acting, sentence)) == set(acting):
                # Every drug named is a remedy taken against the events ("..., I have to take Linzess just to
                # go"): they are the text's drug's (the review's, or the one named before).
                targets = [None]
            elif label in HARM_LABELS and tied and not acting and all(d.start >= asserted[-1].end for d in drugs):
                # Events had, and every drug named after them is denied or hypothetical ("I became drowsy, ... no
                # hangover effects, unlike zyprexa"): they are the text's drug's, not the drug named nearest (one
                # denied before them may still be their cause: "I could not tolerate Cymbalta, it made me nauseous").
                targets = [None]
            else:
                targets = [_nearest(drugs, anchor)]
                nearest = targets[0]
                if label == "adverse_effect" and nearest is not None and nearest.end <= anchor.start and any(
                        t.lower_ in _REASON_WORDS for t in doc[nearest.end:anchor.start]):
                    # "switched from Prevacid to Zantac because of the side effects": the reason is the first drug's
                    # (as for events, ``events.events_by_drug``).
                    targets = [events.reason_owner(nearest, sentence, drugs)]
            for target in targets:
                reported: list[str] = []
                if label in HARM_LABELS:
                    reported = tied.get(target, []) if target is not None else [t for ts in tied.values() for t in ts]
                    if by_label is not None and label in by_label:
                        reported = [t for t in reported if t in by_label[label]]
                        if not reported:
                            continue  # the split left this drug none of this label's events: no such outcome
                drug = target.ent_id_ if target is not None else (doc._.stated_drug or (
                    previous_drug if label != "access_loss" else None) or (
                    next_drug if label in HARM_LABELS and tied else None))
                span = Span(doc, anchor.start, anchor.end, label=label, span_id=drug or "")
                stop_reason_only = False
                # Attributes are set only where they differ from their defaults (None, False):
                # each extension write costs more than the rest of this loop.
                if drug:
                    span._.drug = drug
                if label in HARM_LABELS:
                    if reasons and label == "withdrawal":
                        # Why it was stopped is not what stopping did; a withdrawal the sentence gives no other sign
                        # of ("I had to stop taking it because of the headaches") is no withdrawal.
                        # (An event named again after the reason is kept: "... because of the headaches, but after
                        # stopping the headaches got worse".)
                        kept = [t for t in reported
                                if any(events.event_term(e) == t and e.start not in reasons for e in asserted)]
                        if reported and not kept and not any(c.label_ == "withdrawal" for c in rule_cues):
                            stop_reason_only = True
                        reported = kept
                    elif reasons and "withdrawal" in labels:
                        # "I quit Cymbalta because of the nausea and had brain zaps for weeks": what came after the
                        # reason is the withdrawal's.
                        last = max(reasons)
                        reported = [t for t in reported if any(
                            events.event_term(e) == t and e.start <= last for e in asserted)]
                    if reported:
                        span._.events = tuple(dict.fromkeys(reported))
                found_context = self.context.assess(span)
                # Negation is what "ineffective" is made of; it does not cancel it.
                # "No side effects." names no drug and is still negated.
                # A negation near the outcome's cue does not deny the events the sentence asserts
                # (each event was checked for its own negation): "on venlafaxine I sweat like a pig
                # and cannot reach orgasm", "no side effects except dizziness".
                # (Not with no drug known: "Not many - some mild bloating" stays a denial.)
                negated = found_context.negated and not (label in HARM_LABELS and span._.events and drug_known)
                # The classifier's adverse effect in a sentence whose every symptom is denied, hedged or
                # relieved ("dizziness was not a problem", "nausea is a possible side effect"): none had.
                if label == "adverse_effect" and not span._.events and not negated:
                    negated = events.all_denied(sentence, ents)
                # "When I stopped taking it I had terrible headaches": what followed the stop is the withdrawal's,
                # not also an adverse effect of the drug.
                if label == "adverse_effect" and not negated and "withdrawal" in labels and span._.events and all(
                        self.context.assess(e).stopped and e.start not in reasons
                        for e in asserted if events.event_term(e) in span._.events):
                    negated = True
                # "I was tired, but that was the infection, not the Zithromax": the drug is cleared of it.
                if label == "adverse_effect" and not negated:
                    if exoneration is None:
                        exoneration = events.exonerated(sentence, drugs)
                    cleared, medicine_cleared = exoneration
                    negated = drug in cleared or (medicine_cleared and target is None)
                if (negated or stop_reason_only or (denied and label == "adverse_effect") or (
                        (relief_of_stopping or other_treatment) and label == "effective") or (
                        treatment_harm and label == "adverse_effect")) and label not in (
                        "ineffective", "access_loss") and not (
                        label == "effective" and target is not None and target in exceptions):
                    span._.negated = True
                # Nor does a fear or an expectation before the cue make hypothetical the events asserted after
                # the cue: "I was concerned about weight gain and I did gain 20 pounds on Lyrica" (not "I'm
                # nervous to start it because I read it causes weight gain": the nerves come first).
                hypothetical = found_context.hypothetical and not (
                    label in HARM_LABELS and span._.events and drug_known
                    and any(e.start >= anchor.end and events.event_term(e) in span._.events for e in asserted))
                if hypothetical or (target is not None and target._.hypothetical):
                    span._.hypothetical = True
                out.append(span)
        return out


NO_ADVERSE_EFFECT = "no_adverse_effect"  # the rule-cue label of phrases that deny side effects


def denies_adverse_effects(sentence: Span, rule_cues: list[Span], ents: list[Span]) -> bool:
    """A phrase that denies side effects ("none", "n/a", "minimal", "none that I noticed",
    ``vocab/outcome_rule_cues.tsv``) ending the sentence (only punctuation after it), with no
    symptom or condition named before it: "Side effects: none." yes; "Nausea at first, now
    none." and "minimal nausea" no."""
    for cue in rule_cues:
        if cue.label_ != NO_ADVERSE_EFFECT:
            continue
        if not all(t.is_punct or t.is_space for t in sentence.doc[cue.end:sentence.end]):
            continue
        if any(e.label_ in ("SYMPTOM", "CONDITION") and e.start < cue.start for e in ents):
            continue
        return True
    return False


# A heading: at most this many words at the start of a paragraph, then a colon ("Side effects review:", "SE:").
HEADING_WORDS_MAX = 4
# Words that make the words before a colon the writer's sentence, not a heading ("I had one side effect: ...").
NOT_IN_HEADINGS = context.FIRST_PERSON | {"we", "our", "you", "your", "he", "she", "they", "it", "had", "have", "has",
                                          "was", "were", "is", "are", "got", "get", "felt", "feel"}
# Answers that deny the heading's question outright ("Side effects review: No", "none at all during the day").
ANSWERS_NO = frozenset({"no", "none", "nothing", "nil", "n/a", "na"})


def heading_end(sentence: Span) -> int | None:
    """The index of the colon that ends the heading the sentence starts with, when it starts a paragraph: a review
    table's column heading ("Side effects review: ...", ``parsing.sources.tabular``) or the writer's own ("SE:
    drowsy"). None when there is none, or when the words before the colon are a sentence ("I had one: ...")."""
    doc = sentence.doc
    colons = _colons(doc)
    at = bisect_right(colons, sentence.start - 1)
    if at == len(colons) or colons[at] > sentence.start + HEADING_WORDS_MAX + 2:
        return None  # most sentences: no colon near their start (leading space tokens aside)
    start = next((t.i for t in sentence if not t.is_space), sentence.end)  # "\n\nSide effects: ..."
    if start > 0 and "\n" not in doc[start - 1].text + doc[start - 1].whitespace_:
        return None
    for token in doc[start:min(sentence.end, start + HEADING_WORDS_MAX + 1)]:
        if token.text == ":":
            words = doc[start:token.i]
            # "Side-effects:", "Pros/cons:": words, and the hyphens and slashes that join them
            if len(words) and all((t.is_alpha or t.text in "-/") and t.lower_ not in NOT_IN_HEADINGS for t in words):
                return token.i
            return None
    return None


_COLON = hash_string(":")
# A paragraph headed as side effects: a review table's column ("Side effects review: ...") or the writer's own
# ("Side effects: ...", "SE: ...", "Adverse reactions: ...").
_SIDE_EFFECTS_HEADING = re.compile(
    r"(?:\A|\n[ \t]*\n)\s*(?:side[- ]?effects?(?: review)?|se|adverse (?:effects|events|reactions))[ \t]*:", re.I)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# A side-effects paragraph that answers no ("Side effects review: None really. My back pain is still there though."):
# what it says after the denial is no effect of the drug.
_ANSWERS_NO = re.compile(r"[\s\-*:]*(?:none|nothing|no(?:pe)?|n/?a|zero|zilch|not any)\b", re.I)


# Words that say a drug was stopped, cut or missed: without one, a side-effects column's symptoms are no withdrawal.
STOPPING_WORDS = frozenset({"stop", "stopped", "stopping", "stops", "quit", "quitting", "off", "taper", "tapered",
                            "tapering", "wean", "weaned", "weaning", "cut", "cutting", "discontinue", "discontinued",
                            "discontinuing", "without", "miss", "missed", "missing", "skip", "skipped", "skipping",
                            "forget", "forgot", "ran", "withdraw", "withdrawing", "turkey", "rebound", "decrease",
                            "decreasing", "reduce", "reducing", "lowering", "dropping"})
# (Not "reduced", "decreased", "lower", "dropped": "reduced libido", "decreased appetite" are the effects, "on the
# lower dose" is the dose taken.)
# "Coming down from 60 to 30mg gave me brain zaps": a dose come down.
_DOWN_VERBS = frozenset({"come", "comes", "came", "coming", "go", "goes", "went", "going", "step", "stepped",
                         "stepping"})
# After a negation: "when I do not take this medicine", "I have not taken the effexor since Friday".
_NOT_TAKEN = frozenset({"take", "taking", "took", "taken", "have", "had"})


_MISSED = frozenset({"miss", "missed", "missing", "misses", "skip", "skipped", "skipping", "skips", "forget", "forgot",
                     "forgetting"})
_MISSED_WHAT = frozenset({"dose", "doses", "dosage", "dosages", "dosing", "day", "days", "pill", "pills", "night",
                          "nights", "it", "them", "one"})
_WHEN = frozenset({"after", "when", "since", "upon", "once", "if", "whenever"})
_STOPPED = frozenset({"stop", "stopped", "stopping", "terminating", "terminated", "quit", "quitting", "discontinue",
                      "discontinued", "discontinuing"})
_WENT_OFF = frozenset({"coming", "came", "come", "went", "going", "go", "getting", "got"})
_WORE_OFF = frozenset({"wore", "wears", "wearing", "wear"})  # "when the drug wore off": the drug's own doing
_STOPPED_WHAT = frozenset({"it", "them", "taking", "using", "this", "that"})
# "take it down to 25 mg", "brought the dose down to 30", "went down to 150mg": a dose lowered, with the number after.
_DOWN_TAKERS = frozenset({"take", "took", "taking", "taken", "bring", "brought", "bringing", "cut",
                          "cutting"}) | _DOWN_VERBS


def _taken_down(words: list[str], i: int) -> bool:
    """Whether "down" at ``i`` follows a verb that lowers a dose, "it", "the dose" or "my dose" between; "went down"
    only of the writer or a dose ("I went down to 150mg", "my dose went down to 30"), not of a lab value ("My LDL went
    down to 90")."""
    k = i - 1
    while k >= 0 and i - k <= 3 and words[k] in ("it", "the", "my", "dose", "dosage", "them"):
        k -= 1
    if k < 0 or words[k] not in _DOWN_TAKERS:
        return False
    if words[k] in _DOWN_VERBS:
        return (k > 0 and words[k - 1] in ("i", "we")) or any(w in _DOSE_WORDS for w in words[max(0, k - 2):i])
    return True


_DETERMINERS = frozenset({"the", "my", "this", "that", "these", "those", "his", "her"})


# "These symptoms include ...", "The symptoms were ...", "Symptoms: ...": a sentence that lists the symptoms the one
# before it named.
_SYMPTOM_WORDS = frozenset({"symptoms", "symptom", "syptoms", "symtoms", "sypmtoms", "effects", "withdrawals"})
_LISTING = frozenset({"include", "included", "including", "includes", "are", "were", "was", "is", ":", "-", "like",
                      "such"})


def _lists_the_symptoms(sentence: Span) -> bool:
    """Whether the sentence opens by listing symptoms named before: "These symptoms include", "The symptoms were",
    "Symptoms:", "My withdrawal symptoms were"."""
    words = [t.lower_ for t in sentence[:5]]
    k = 1 if words and words[0] in ("these", "those", "the", "my", "such", "withdrawal", "other") else 0
    if k < len(words) and words[k] in ("withdrawal", "side"):
        k += 1
    return k + 1 < len(words) and words[k] in _SYMPTOM_WORDS and words[k + 1] in _LISTING


def _withdrawal_ends(spans: list[Span], previous: Span) -> bool:
    """Whether the previous sentence reported a withdrawal (asserted) and no adverse effect."""
    before = [s for s in spans if previous.start <= s.start < previous.end]
    return any(s.label_ == "withdrawal" and not s._.negated and not s._.hypothetical for s in before) and not any(
        s.label_ == "adverse_effect" and not s._.negated and not s._.hypothetical for s in before)


def _as_withdrawal(span: Span) -> Span:
    """The adverse-effect outcome span relabelled withdrawal, its attributes kept."""
    names = extensions.registered()
    kept = extensions.values(span.doc, span, names)
    out = Span(span.doc, span.start, span.end, label="withdrawal", span_id=span.id)
    extensions.set_values(out, **{n: v for n, v in zip(names, kept) if v != extensions.default(n)})
    return out


def missed_dose_or_stop_at(sentence: Span) -> int | None:
    """Where the sentence first speaks of what follows a dose missed ("if I miss a couple of dosages", "skipping a
    dosage for 2-3 days") or lowered ("I dropped from 60 to 30 mg"), the drug stopped ("after terminating the pill",
    "when I stopped taking it"), not taken ("if I do not take it") or worn off ("when the drug wore off"): the token
    index of its "if", "when", "after" or of the missing word; None where it does not."""
    words = [t.lower_ for t in sentence]
    for i, w in enumerate(words):
        # (four words back for a dose not taken: "if I do not take the medicine ...")
        before = words[max(0, i - (4 if w in _NOT_TAKEN else 3)):i]
        when = next((i - len(before) + k for k, v in enumerate(before) if v in _WHEN), None)
        if (w in _MISSED and any(v in _MISSED_WHAT for v in words[i + 1:i + 5])) or (
                w in _LOWERED and _dose_lowered(sentence, i + 1)) or (
                w == "down" and _taken_down(words, i) and _dose_lowered(sentence, i + 1)):
            return sentence.start + (when if when is not None else i)
        if when is None:
            continue
        # What is stopped must be a drug, "it" or a medicine ("when I stopped taking it", "after stopping Lyrica",
        # "coming off the meds"): not "when I quit smoking", "after I stopped at the pharmacy", "went off to college".
        stopped = (w in _STOPPED and _a_drug_follows(sentence, i + 1)) or (
            w in _WENT_OFF and i + 1 < len(words) and words[i + 1] == "off" and _a_drug_follows(sentence, i + 2))
        if stopped or (w in _WORE_OFF and "off" in words[i + 1:i + 3]) or (
                w in _NOT_TAKEN and _not_taken(words, i, when)):
            return sentence.start + when
    return None


# "if I didn't take it early enough", "if I don't take it with food": how or when it was taken, no dose missed.
_HOW_TAKEN = frozenset({"early", "late", "enough", "soon", "with", "before", "until", "right", "properly", "correctly",
                        "on", "at", "in", "after", "without", "empty", "full"})


def _not_taken(words: list[str], i: int, when: int) -> bool:
    """Whether the take-word at ``i`` says a dose was not taken: a negation right before it ("if I do not take the
    medicine", "when I haven't taken it"), not a comparison ("more bloated than when I was not taking it"), "even when"
    nor how or when it was taken ("if I didn't take it early enough", "if I don't take it on a full stomach")."""
    return (any(v in outcome_model.NEGATIONS for v in words[max(0, i - 2):i])
            and not (when > 0 and words[when - 1] in ("than", "even"))  # "... even when I don't take it"
            and not any(v in _HOW_TAKEN for v in words[i + 1:i + 5]))


def _events_of_a_stop(sentence: Span, asserted: list[Span]) -> bool:
    """Whether events of the sentence come of a stop, a missed or lowered dose (``missed_dose_or_stop_at``), none of
    them why the drug was stopped ("I stopped Lyrica because of the nausea") nor said to be caused by it."""
    at = missed_dose_or_stop_at(sentence)
    if at is None:
        return False
    reasons, doc = events.stop_reasons(sentence), sentence.doc
    # (those after the stop that eased are none of ``events_of_the_miss``; one before it eased if an easing word
    # stands between it and the stop: "Numbness diminished after stopping", "the headaches went away when I stopped")
    return any(not events.is_caused(e, sentence) and not events.is_relieved(e, sentence)
               # "feel less dependent": less of it is no event of the stop
               and not (e.start > sentence.start and doc[e.start - 1].lower_ in _LESS)
               and not (e.end <= at and _eased(e, sentence, at))
               for e in events_of_the_miss([e for e in asserted if e.start not in reasons], at, sentence))


def _eased(event: Span, sentence: Span, until: int) -> bool:
    """Whether the event is said to ease right after it ("went away", ``relief_after``) or an easing word stands
    between it and token ``until`` ("the headaches finally ceased")."""
    return events.followed_by(event, "relief_after", sentence) or any(
        t.lower_ in _EASED for t in sentence.doc[event.end:until])


_LESS = frozenset({"less", "fewer", "lower"})
_EASED = frozenset({"diminished", "lessened", "eased", "subsided", "improved", "disappeared", "vanished", "faded",
                    "decreased", "lifted", "stopped", "ended", "cleared", "resolved", "ceased", "gone"})


def _a_drug_follows(sentence: Span, at: int) -> bool:
    """Whether what follows token ``at`` of the sentence (its index within the sentence) is a drug, "it", "taking
    ...", a medicine ("the meds", "my medication") or nothing (the clause ends: "when I stopped, ...")."""
    if at >= len(sentence):
        return True
    token = sentence[at]
    if token.is_punct or token.ent_type_ in DRUG_LABELS or token.lower_ in _STOPPED_WHAT:
        return True
    return (token.lower_ in _DETERMINERS and at + 1 < len(sentence)
            and (sentence[at + 1].ent_type_ in DRUG_LABELS or sentence[at + 1].lower_ in events.MEDICINE_NOUN_WORDS))


_RUN_JOINERS = frozenset({"and", "or", "&", "/", "+"})
_TURNS = frozenset({"but", "however", ";", "although", "though", "whereas", "while"})
_CLAUSE_ENDS = frozenset({",", ";", ":", ".", "-", "but", "and", "or", "which", "that"})
_VERB_GAP = 3  # "the anxiety returned when ...": at most this many words between the event and the miss


def events_of_the_miss(asserted: list[Span], at: int, sentence: Span) -> list[Span]:
    """The events that come of the miss or stop at token ``at``: those after it, the one right before it in its
    clause ("Headaches if missed dosages", "the anxiety returned when the drug wore off") and those joined to that
    one by "and" or "or" ("dizziness and vertigo upon missed dose"); not what a clause break or more words set apart
    ("sweating like crazy, and if I miss a dose ...", "sexual dysfunction which has continued ... after stopping")."""
    doc = sentence.doc
    # after it, up to a clause that turns to something else ("... I get brain zaps but Lyrica makes me dizzy"), not
    # what eased after it ("I went down to 150mg and the headaches finally went away")
    turn = next((i for i in range(at, sentence.end) if doc[i].lower_ in _TURNS), sentence.end)
    out = [e for e in asserted if at <= e.start < turn and not _eased(e, sentence, min(e.end + 4, sentence.end))]
    boundary = at
    for k, e in enumerate(sorted((e for e in asserted if e.end <= at), key=lambda e: -e.end)):
        gap = [t.lower_ for t in doc[e.end:boundary]]
        if (any(w not in _RUN_JOINERS for w in gap) if k else (len(gap) > _VERB_GAP or any(
                w in _CLAUSE_ENDS for w in gap))):
            break
        out.append(e)
        boundary = e.start
    return out


def _terms(entities: list[Span]) -> set[str]:
    return {t for e in entities for t in (events.event_term(e), *events.coordinated_terms(e))}


def says_stopping(sentence: Span) -> bool:
    """Whether the sentence says a drug was stopped, cut, missed or not taken (``STOPPING_WORDS``), its dose lowered
    ("dropped from 60 to 30 mg of Cymbalta", "reduced my Effexor to 75mg", ``_dose_lowered``) or run out of ("my
    pharmacy was out of Effexor")."""
    words = [t.lower_ for t in sentence]
    return any(w in STOPPING_WORDS or (w in _NOT_TAKEN and any(
        v in outcome_model.NEGATIONS for v in words[max(0, i - 2):i])) or (w == "down" and i and words[i - 1] in _DOWN_VERBS)
        or (w in _LOWERED and _dose_lowered(sentence, i + 1))
        or (w == "out" and i + 2 < len(words) and words[i + 1] == "of" and _a_drug_follows(sentence, i + 2))
        for i, w in enumerate(words))


# The past forms STOPPING_WORDS leaves out ("reduced libido", "on the lower dose"): a dose lowered only when what the
# verb lowers is a drug or a dose ("reduced my Effexor", "lowered my daily dose", "tapered off Cymbalta") or "from"/
# "to" and a number follow ("dropped from 60 to 30 mg"); not "my reduced libido on Cymbalta", "I reduced my hours
# because Lyrica made me so tired", "I decreased my caffeine and Cymbalta ...".
_LOWERED = frozenset({"reduced", "lowered", "dropped", "decreased", "tapered"})
_DOSE_WORDS = frozenset({"dose", "doses", "dosage", "dosages", "dosing", "mg", "mgs", "mcg"})
_BEFORE_THE_OBJECT = _DETERMINERS | {"off", "down", "back", "daily", "nightly", "morning", "evening", "night",
                                    "bedtime", "total", "current", "usual"}


def _dose_lowered(sentence: Span, at: int) -> bool:
    if at >= 2 and sentence[at - 2].lower_ in _DETERMINERS:  # "my reduced appetite": an adjective, no verb
        return False
    following = sentence[at:at + 4]
    # "dropped from 60 to 30 mg", "reduced it to 25": what comes before "from" or "to" is the drug, a dose or nothing
    # ("Decreased TSH level from 428 to 1.5" lowers no dose)
    for k, t in enumerate(following):
        if t.lower_ in ("from", "to") and k + 1 < len(following) and following[k + 1].like_num:
            return all(u.lower_ in _BEFORE_THE_OBJECT or u.lower_ in _DOSE_WORDS or u.lower_ in _STOPPED_WHAT
                       or u.ent_type_ in DRUG_LABELS or u.like_num for u in following[:k])
    k = at
    while k < len(sentence) and k < at + 4 and (sentence[k].lower_ in _BEFORE_THE_OBJECT or sentence[k].like_num):
        k += 1
    return k < len(sentence) and (sentence[k].ent_type_ in DRUG_LABELS or sentence[k].lower_ in _DOSE_WORDS)


def column_patient_of(sentence: Span) -> str | None:
    """Who the side-effects paragraph the sentence is in is written of, when not its writer (``events.column_patient``:
    "My son developed a rash" is of "son"); None outside such a paragraph, where the writer is the patient or where
    the paragraph opens with a denial."""
    at = _side_effects_paragraph_at(sentence)
    if at is None:
        return None
    cache = sentence.doc.user_data.setdefault("fms_column_patients", {})
    if at not in cache:
        # A column that opens with a denial ("Nothing. My sister had suicidal thoughts on it") is the writer's own.
        start, end, answers_no = sentence.doc.user_data["fms_side_effect_paragraphs"][1][at]
        paragraph = None if answers_no else sentence.doc.char_span(start, end, alignment_mode="expand")
        cache[at] = events.column_patient(paragraph) if paragraph is not None else None
    return cache[at]


def under_side_effects_heading(span: Span, answered_yes: bool = False) -> bool:
    """Whether the span is in a paragraph headed as side effects (``_SIDE_EFFECTS_HEADING``). (A span, not its
    sentence: a sentence may run on over a paragraph break, "...to prescribe\n\nComments review: for nausea".)
    ``answered_yes``: and the paragraph does not begin by denying them (``_ANSWERS_NO``)."""
    at = _side_effects_paragraph_at(span)
    return at is not None and not (answered_yes and span.doc.user_data["fms_side_effect_paragraphs"][1][at][2])


def _side_effects_paragraph_at(span: Span) -> int | None:
    """The number of the side-effects paragraph the span starts in, else None."""
    doc = span.doc
    if "fms_side_effect_paragraphs" not in doc.user_data:
        text, spans = doc.text, []  # (doc.text joins every token: built once, not per call)
        for match in _SIDE_EFFECTS_HEADING.finditer(text):
            end = _PARAGRAPH_BREAK.search(text, match.end())
            spans.append((match.start(), end.start() if end else len(text),
                          _ANSWERS_NO.match(text, match.end()) is not None))
        doc.user_data["fms_side_effect_paragraphs"] = ([s for s, _, _ in spans], spans)
    starts, spans = doc.user_data["fms_side_effect_paragraphs"]
    at = bisect_right(starts, span.start_char) - 1
    return at if at >= 0 and span.start_char < spans[at][1] else None


def _colons(doc: Doc) -> list[int]:
    """The indices of the doc's colons, found once a doc (``heading_end`` runs for most sentences)."""
    if "fms_colons" not in doc.user_data:
        doc.user_data["fms_colons"] = np.flatnonzero(doc.to_array(ORTH) == _COLON).tolist()
    return doc.user_data["fms_colons"]


def answers_no(sentence: Span, heading: int, ents: list[Span]) -> bool:
    """Whether the answer after a heading starts with a bare denial and names no symptom or condition:
    "Side effects review: No", "Side effects: none at all during the day or evening"."""
    first = next((t for t in sentence.doc[heading + 1:sentence.end] if not (t.is_punct or t.is_space)), None)
    return first is not None and first.lower_ in ANSWERS_NO and not any(
        e.label_ in events.EVENT_LABELS and e.start > heading for e in ents)


# Words that turn a sentence to another time or clause: the classifier's effective stands beside a rule's
# ineffective past one ("At first it helped, but now I cannot tell a difference", "... for two months, now it works").
_EFFECTIVE_TURNS = frozenset({"but", "however", "though", "although", "yet", "then", "until", "till", "while",
                              "whereas", "except", "first", "initially", "before", "now"})
_ME_WORDS = frozenset({"me", "my", "myself", "mine"})
_REASON_WORDS = frozenset({"because", "due"})
WELL_WISHING = "well_wishing"  # the rule-cue label of a writer wishing the reader well ("Good luck, everyone.")
WITHDRAWAL_DENIAL = "withdrawal_denial"  # the rule-cue label of words that deny having what follows them
# Words that may stand between a denial and the withdrawal it denies: "didn't get the bad withdrawal symptoms".
# (Not "such", "much", "many": "I've never had such bad withdrawals in my life" reports them.)
DENIAL_FILLERS = frozenset({"any", "the", "a", "an", "real", "major", "bad", "serious", "severe", "adverse",
                            "noticeable", "significant", "horrible", "horror", "terrible", "awful", "those", "these",
                            "big", "obvious", "physical", "'", '"', "“", "”", "‘", "’"})
# A denial these words follow says when or how often it came, not that it did not: "didn't get the withdrawals
# until day three", "can't go a day without withdrawal symptoms".
DENIAL_UNDONE_AFTER = frozenset({"until", "till", "til"})
DENIAL_UNDONE_BEFORE = frozenset({"day", "days", "week", "hour", "hours", "morning", "night"})
DENIAL_GAP = 3


def denies_withdrawal(sentence: Span, rule_cues: list[Span]) -> bool:
    """Whether the sentence names withdrawal (a ``withdrawal`` rule cue) and every such cue comes right after a
    denial (``withdrawal_denial`` in ``vocab/outcome_rule_cues.tsv``; at most ``DENIAL_GAP`` of
    ``DENIAL_FILLERS`` between): "I have gone down to 50 mg and had no withdrawals", "I didn't experience
    the horror withdrawal symptoms"; not "NO improvement in my withdrawal symptoms", "Withdrawal was hell"."""
    doc = sentence.doc
    named = [c for c in rule_cues if c.label_ == "withdrawal"]
    denials = [c for c in rule_cues if c.label_ == WITHDRAWAL_DENIAL]
    if not named or not denials:
        return False
    if any(t.lower_ in DENIAL_UNDONE_AFTER for t in doc[named[0].end:sentence.end]):
        return False
    return all(any(d.end <= cue.start and cue.start - d.end <= DENIAL_GAP
                   and all(t.lower_ in DENIAL_FILLERS for t in doc[d.end:cue.start])
                   and not (d.start > sentence.start and doc[d.start - 1].lower_ in DENIAL_UNDONE_BEFORE)
                   for d in denials)
               for cue in named)


EXCEPTING = tuple(tuple(p.split()) for p in events.EXCEPTION_PHRASES)
DENYING = frozenset({"no", "none", "not", "n't", "nt", "never", "nothing", "n’t"})


def excepted_from_a_denial(sentence: Span, asserted: list[Span]) -> bool:
    """Whether an asserted event follows an exception ("except", "other than", "aside from", "besides") that
    follows a denial ("no", "none", "didn't", "nothing"): "None to speak of except for slight tiredness", "I
    didn't observe any side effects aside from a little dry mouth"."""
    doc = sentence.doc
    lower = [t.lower_ for t in doc[sentence.start:sentence.end]]
    for i in range(len(lower)):
        for words in EXCEPTING:
            if tuple(lower[i:i + len(words)]) == words and any(w in DENYING for w in lower[:i]):
                at = sentence.start + i + len(words)
                if any(e.start >= at for e in asserted):
                    return True
    return False


# The complaints patients take these drugs for, as entity canonicals: one said to be relieved is the drug working
# (not a side effect gone: "the nausea went away"; nor pain, which PsyTAR labels so only 4 times in 10).
COMPLAINTS = frozenset({
    "anxiety", "depression", "depressed mood", "suicidal thoughts", "crying spells", "excessive crying", "irritability",
    "anger", "mood swings", "racing thoughts", "obsessive thoughts", "excessive worry", "agitation", "ptsd",
    "bipolar disorder", "emotional pain", "homicidal thoughts"})
# What may stand between a relieving word and the complaint ("took away all the depression"), and between the
# complaint and the word that says it relieved ("Anxiety was greatly decreased", "the depression has lifted").
RELIEVING_FILLERS = frozenset({"my", "the", "all", "of", "that", "this", "a", "severe", "major", "constant", "some",
                               "most", "much", "her", "his"})
RELIEVED_FILLERS = frozenset({"was", "were", "is", "are", "has", "have", "had", "been", "greatly", "completely",
                              "totally", "almost", "just", "pretty", "much", "so", "significantly", "really", "now",
                              "all", "seems", "seemed", "to", "be", "definitely", "also", "slowly", "gradually"})
RELIEF_GAP = 3
# Pain and its kin relieved count only when a drug named right before the relieving word is its subject
# ("Cymbalta reduced my pain", "The Lyrica really eased my nerve pain"): what these drugs are taken for in
# fibromyalgia and chronic pain; "the pain went away" alone is as often a side effect gone (PsyTAR).
PAIN_COMPLAINTS = frozenset({
    "pain", "nerve pain", "pain flare", "muscle pain", "joint pain", "back pain", "headache", "migraine",
    "stiffness", "swelling", "muscle spasms", "muscle cramps", "allodynia", "burning pain", "leg pain",
    "arm pain", "hip pain", "knee pain", "neck pain", "shoulder pain", "foot pain", "hand pain", "fibromyalgia",
    "neuropathy", "arthritis", "sciatica"})
# Words of a pain's kind between the relieving word and the pain ("took away the burning pain in my feet").
PAIN_FILLERS = frozenset({"burning", "chronic", "constant", "nerve", "back", "both", "daily", "fibro", "muscle",
                          "joint"})
PAIN_RELIEVING_FILLERS = RELIEVING_FILLERS | PAIN_FILLERS
SUBJECT_FILLERS = frozenset({"has", "have", "had", "really", "also", "significantly", "greatly", "definitely",
                             "dramatically", "immediately", "quickly", "completely", "totally", "almost",
                             "actually", "does", "did", "just", "noticeably", "certainly", "slowly", "gradually"})
# Not relief (review of session 15): a wish before the drug ("I hope Cymbalta reduces my pain"), a dose change as the
# subject ("Lowering my Cymbalta reduced the headaches"), "pain tolerance", and a general claim with no "my"/"the"
# before the pain ("Cymbalta also reduces nerve pain, which is why ...").
WISHES = frozenset({"hope", "hoping", "hoped", "wish", "wished", "if", "praying", "pray"})
PAIN_NOT_RELIEF = frozenset({"tolerance", "threshold"})
PAIN_DETERMINERS = frozenset({"my", "the", "all", "this", "that", "most", "much"})
DOSE_CHANGE = frozenset({"lowering", "halving", "cutting", "reducing", "dropping", "weaning", "tapering", "stopping",
                         "quitting", "from", "off", "decreasing"})
# What may stand between a drug and the relieving word a negation denies ("Lyrica did not even reduce").
NEGATIONS = events.NEGATION_WORDS | {"didnt", "doesnt", "dont", "wont"}
RELIEF_DENIAL_FILLERS = SUBJECT_FILLERS | NEGATIONS | {"even", "ever", "do", "really"}


def _no_longer(complaint: Span, sentence: Span) -> bool:
    """Whether "no longer" stands before the complaint in its sentence, or "anymore" / "any more" after it."""
    doc = sentence.doc
    before = [t.lower_ for t in doc[sentence.start:complaint.start]]
    after = [t.lower_ for t in doc[complaint.end:sentence.end]]
    return (any(a == "no" and b == "longer" for a, b in zip(before, before[1:]))
            or "anymore" in after or any(a == "any" and b == "more" for a, b in zip(after, after[1:])))


def relieved_complaint(sentence: Span, rule_cues: list[Span], ents: list[Span], context_rules) -> bool:
    """Whether the sentence says a complaint the drug is taken for (``COMPLAINTS``) was relieved: a ``relieving``
    word at most ``RELIEF_GAP`` fillers before it ("It took away all the depression", "relief from racing
    thoughts") or a ``relieved`` word after it, a copula or adverb between ("Anxiety was greatly decreased",
    "my suicidal thoughts were gone"), the complaint and the relief neither negated nor hypothetical ("it hasn't
    reduced my anxiety", "I hope my depression lifts"); not in a question nor of someone else."""
    complaints = [e for e in ents if e.label_ in events.EVENT_LABELS and e.ent_id_ in COMPLAINTS
                  and not extensions.value(e, "hypothetical") and extensions.value(e, "experiencer") != "other"]
    cues = [c for c in rule_cues if c.label_ in ("relieving", "relieved")]
    if not (complaints or cues) or events.is_question(sentence):  # most sentences: neither
        return False
    # "I don't have panic attacks anymore", "I no longer feel suicidal": a complaint denied as over.
    if any(extensions.value(e, "negated") and _no_longer(e, sentence) for e in complaints):
        return True
    if any(_relieved_by(cue, complaint, context_rules) for complaint in complaints
           if not extensions.value(complaint, "negated") for cue in cues):
        return True
    doc = sentence.doc
    pains = [e for e in ents if e.label_ in events.EVENT_LABELS and e.ent_id_ in PAIN_COMPLAINTS
             and not extensions.value(e, "negated") and not extensions.value(e, "hypothetical")
             and extensions.value(e, "experiencer") != "other"
             and not (e.end < len(doc) and doc[e.end].lower_ in PAIN_NOT_RELIEF)]
    acting = [c for c in cues if c.label_ == "relieving" and _drug_subject(c, ents)] if pains else []
    return any(_relieved_by(cue, pain, context_rules, PAIN_RELIEVING_FILLERS)
               and any(t.lower_ in PAIN_DETERMINERS for t in doc[cue.end:pain.start])
               for pain in pains for cue in acting)



def relief_denied(sentence: Span, rule_cues: list[Span], ents: list[Span]) -> bool:
    """Whether a drug named as the subject is said not to relieve a complaint or pain: "Lyrica did not reduce my pain
    at all", "Savella didn't relieve my pain", "Gabapentin did not touch my nerve pain" (a ``relief_denied`` or
    ``relieving`` word, a negation right before it, the drug before that, the complaint after it); not asked."""
    cues = [c for c in rule_cues if c.label_ in ("relief_denied", "relieving")]
    if not cues:
        return False
    doc = sentence.doc
    complaints = [e for e in ents if e.label_ in events.EVENT_LABELS and (e.ent_id_ in PAIN_COMPLAINTS or e.ent_id_ in
                  COMPLAINTS) and extensions.value(e, "experiencer") != "other"]
    for cue in cues:
        before = [t.lower_ for t in doc[max(sentence.start, cue.start - 4):cue.start]]
        if not before or not NEGATIONS & set(before[-2:]):
            continue
        drug = next((e for e in ents if e.label_ == "DRUG" and e.end <= cue.start and cue.start - e.end <= 4
                     and not extensions.value(e, "hypothetical")), None)
        if drug is None or not all(t.lower_ in RELIEF_DENIAL_FILLERS for t in doc[drug.end:cue.start]):
            continue
        if any(e.start >= cue.end and e.start - cue.end <= RELIEF_GAP and all(
                t.lower_ in PAIN_RELIEVING_FILLERS for t in doc[cue.end:e.start]) for e in complaints):
            return not events.is_question(sentence)
    return False


def _drug_subject(cue: Span, ents: list[Span]) -> bool:
    """Whether a drug named right before the cue (``SUBJECT_FILLERS`` between) is its subject: "Cymbalta reduced",
    "The Lyrica has really eased"."""
    doc = cue.doc
    for e in ents:
        if e.label_ != "DRUG" or not (0 <= cue.start - e.end <= 4):
            continue
        # The dose aside: "Cymbalta 60mg reduced my pain".
        between = [t for t in doc[e.end:cue.start] if not events.is_dose(t.lower_)]
        if len(between) <= 2 and all(
                t.lower_ in SUBJECT_FILLERS for t in between) and not extensions.value(e, "negated") \
                and not extensions.value(e, "hypothetical") \
                and not any(t.lower_ in WISHES for t in doc[max(e.sent.start, e.start - 4):e.start]) \
                and not any(t.lower_ in DOSE_CHANGE for t in doc[max(0, e.start - 2):e.start]):
            return True
    return False


def _relieved_by(cue: Span, complaint: Span, context_rules, relieving_fillers: frozenset = RELIEVING_FILLERS) -> bool:
    """Whether a ``relieving`` cue stands before the complaint (``RELIEVING_FILLERS`` between) or a ``relieved``
    one after it (``RELIEVED_FILLERS`` between), at most ``RELIEF_GAP`` words apart, the two neither negated nor
    hypothetical."""
    doc = complaint.doc
    first, second, fillers = ((cue, complaint, relieving_fillers) if cue.label_ == "relieving"
                              else (complaint, cue, RELIEVED_FILLERS))
    between = doc[first.end:second.start]
    if first.end > second.start or len(between) > RELIEF_GAP or not all(t.lower_ in fillers for t in between):
        return False
    found = context_rules.assess(Span(doc, first.start, second.end))
    return not (found.negated or found.hypothetical)


DOING = frozenset({"did", "does", "do", "done", "doing"})


def _did_anything(sentence: Span) -> bool:
    """Whether "did anything" (does, has done) is said: "Neither Lyrica nor gabapentin did anything for me"."""
    words = [t.lower_ for t in sentence]
    return any(a in DOING and b == "anything" for a, b in zip(words, words[1:]))


NOTHING = frozenset({"nothing", "nobody", "none", "no one", "noone"})


def _after_nothing(cue: Span, sentence: Span) -> bool:
    """Whether "nothing" (or "nobody", "none") stands at most two words before the cue: "Nothing really helps
    with the pain", "Nothing has cured my fibro" deny what the phrase says."""
    return any(t.lower_ in NOTHING for t in sentence.doc[max(sentence.start, cue.start - 3):cue.start])


# Who a drug is said to work for when it is not the writer: "Zoloft works really well for some people", "it
# worked well for many" (PsyTAR labels none of its 6 training sentences so worded effective).
OTHERS = frozenset({"some", "many", "most", "other", "others", "lots", "everyone", "everybody", "certain", "people",
                    "plenty", "several"})
PRAISE_FILLERS = frozenset({"well", "great", "so", "really", "very", "wonderfully"})


def _for_others(cue: Span, sentence: Span) -> bool:
    """Whether "for" and people other than the writer follow the cue, "well" or "great" aside: "Zoloft works really
    well for some people", "it worked wonders for a lot of people"; not "worked wonders for me"."""
    doc = sentence.doc
    i = cue.end
    while i < sentence.end and i - cue.end < 2 and doc[i].lower_ in PRAISE_FILLERS:
        i += 1
    if i + 1 >= sentence.end or doc[i].lower_ != "for":
        return False
    after = doc[i + 1].lower_
    return after in OTHERS or (after == "a" and i + 2 < sentence.end and doc[i + 2].lower_ in ("lot", "few"))


QUESTION_CLAUSE_BREAKS = frozenset({",", ";", "and", "but", "then", "so", "."})


def asks_about_withdrawal(sentence: Span, rule_cues: list[Span]) -> bool:
    """Whether the sentence is a question and withdrawal is named, if at all, only in its last clause, the
    asking one: "Withdrawal?", "should I go off it?", "what was your withdrawal like?"; not "Day 4 off Cymbalta
    and the withdrawal is killing me, will it ever end?" (a report, then a question)."""
    if not events.is_question(sentence):
        return False
    doc = sentence.doc
    breaks = [t.i for t in doc[sentence.start:sentence.end - 1] if t.lower_ in QUESTION_CLAUSE_BREAKS]
    named = [c for c in rule_cues if c.label_ == "withdrawal"]
    if not named:
        return not breaks
    return all(c.start > max(breaks, default=sentence.start - 1) for c in named)


COPULAS = frozenset({"is", "was", "are", "were", "be", "been", "being", "'s", "’s"})
HARDSHIP_GAP = 3  # words between a hardship word and the stopping after it: "hard [time] coming off", "hard [to] get off"
# The words that may stand there: "horrible [to try and] go off of", not "a horrible [depression shortly after] stopping".
HARDSHIP_LINKS = frozenset({"to", "time", "a", "very", "so", "really", "extremely", "try", "trying", "and", "with",
                            "when", "while", "in"})
STOPPING_GAP = 6  # words between a stopping and the hardship it is said to be: "Going off [this drug was] horrible"


# What may follow a stopping phrase when a drug is what is stopped: the drug, a medicine word, a pronoun, or the
# clause going on ("very hard to come off", "Going off this drug was horrible"); not "quitting my job", "quitting
# smoking".
STOPPED_SKIPPED = frozenset({"my", "the", "this", "that", "these", "those", "of", "off", "taking", "using", "a"})
STOPPED_OBJECTS = frozenset({"it", "them", "this", "these", "that", "those", "everything", "all", "cold", "completely",
                             "was", "is", "has", "have", "had", "been", "were", "are", "gradually", "slowly", "stuff",
                             "junk", "poison", "crap"})


def _stops_a_drug(stop: Span, sentence: Span) -> bool:
    doc = sentence.doc
    i = stop.end
    while i < sentence.end and doc[i].lower_ in STOPPED_SKIPPED:
        i += 1
    if i >= sentence.end or doc[i].is_punct:
        return True
    token = doc[i]
    return (token.ent_type_ in DRUG_LABELS or token.lower_ in STOPPED_OBJECTS
            or token.lower_ in events.MEDICINE_NOUN_WORDS or doc[stop.end - 1].lower_ in STOPPED_OBJECTS)


SCORE_FILLERS = frozenset({"a", "an", "about", "around", "level", "of", "like"})
_FROM_HASH = hash_string("from")
PAIN_WORDS = frozenset({"pain", "pains"})
_PAIN_HASHES = frozenset(hash_string(w) for w in PAIN_WORDS)
NOT_PAIN_ITSELF = frozenset({"doc", "dr", "dr.", "doctor", "clinic", "med", "meds", "management", "specialist", "pills",
                             "medication", "medications", "medicine", "killers", "patch", "contract", "dose"})
NOT_A_CHANGE_YET = frozenset({"would", "will", "could", "might", "should", "to", "hope", "hoping"})
SCORE_UNITS = frozenset({"mg", "mcg", "ml", "pills", "pill", "tabs", "tablets", "a", "per", "mme", "patients"})
CAUSE_AFTER = frozenset({"after", "since", "once", "because", "when", "without"})


def _denied_in_list(negated: list[Span], sentence: Span) -> list[Span]:
    """The negated drugs a denial lists ("Neither Lyrica nor gabapentin", "not Lyrica, not Cymbalta", "no gabapentin,
    no Lyrica"): right after neither/nor/not/no (the/my aside), or after "or"/","/"and" following one; not a drug
    negated otherwise ("I never took Lyrica", "No one did anything about my Lyrica refill")."""
    doc, out = sentence.doc, []
    for d in negated:
        k = d.start - 1
        while k >= sentence.start and doc[k].lower_ in ("the", "my", "any"):
            k -= 1
        word = doc[k].lower_ if k >= sentence.start else ""
        if word in ("neither", "nor", "not", "no") or (word in ("or", ",", "and") and out and out[-1].end <= k):
            out.append(d)
    return out


def _only_thing_not_drug(cue: Span, sentence: Span, drugs: list[Span]) -> bool:
    """Whether "the only thing that helps" is said of something other than a drug, for someone else or asked: "the
    only thing that helps with the nausea is ginger", "Lyrica is the only thing that helps her", "Is Savella the only
    thing that helps?"; not "Savella is the only thing that helps", "the only thing that works is Norco"."""
    if not cue.text.lower().startswith("the only thing"):
        return False
    doc = sentence.doc
    if events.is_question(sentence) or (cue.end < sentence.end and doc[cue.end].lower_ in (
            "her", "him", "them", "you", "people", "everyone")):
        return True
    before = cue.start - 1 >= sentence.start and doc[cue.start - 1].lower_ in ("is", "was", "'s", "has", "been") and any(
        d.end in (cue.start - 1, cue.start - 2) for d in drugs)
    copula = next((t for t in doc[cue.end:sentence.end] if t.lower_ in ("is", "was", "'s")), None)
    after = copula is not None and any(copula.i < d.start <= copula.i + 3 for d in drugs)
    return not (before or after)


TOLERANCE_OF_EFFECTS = frozenset({"side", "drowsiness", "sleepiness", "nausea", "dizziness", "sedation", "effects"})


def _tolerance_to_effects(cue: Span, sentence: Span, ents: list[Span]) -> bool:
    """Whether a tolerance cue is to a side effect ("built up a tolerance to the side effects", "to the nausea")."""
    if "tolerance" not in cue.text.lower():
        return False
    doc, k = sentence.doc, cue.end
    if k < sentence.end and doc[k].lower_ == "to":
        k += 1
        while k < sentence.end and doc[k].lower_ in ("the", "its", "his", "her", "my"):
            k += 1
        return k < sentence.end and (doc[k].lower_ in TOLERANCE_OF_EFFECTS or any(
            e.start == k and e.label_ == "SYMPTOM" for e in ents))
    return False



def _score(words: list[str], i: int) -> tuple[float, int] | None:
    """(score, the index after it) of a 0-10 pain score at ``words[i]``, fillers aside ("a 9", "about 8/10")."""
    while i < len(words) and words[i] in SCORE_FILLERS:
        i += 1
    if i < len(words):
        text = words[i].split("/")[0]
        try:
            value = float(text)
        except ValueError:
            return None
        if 0 <= value <= 10:
            return value, i + 1
    return None


def pain_score_change(sentence: Span) -> str | None:
    """"effective" when the sentence says pain fell on a 0-10 scale ("my pain went from a 9 to a 4", "pain levels
    dropped from 8 to 3"), "ineffective" when it rose; None otherwise. "pain" (or "pain level(s)") at most four
    words before "from"; not in a question."""
    hashes = events.lower_words(sentence.doc)[sentence.start:sentence.end]  # the doc's lower-case word hashes, cached
    if _FROM_HASH not in hashes or _PAIN_HASHES.isdisjoint(hashes):  # most sentences
        return None
    words = [t.lower_ for t in sentence]
    for i, word in enumerate(words):
        pains = [k for k in range(max(0, i - 4), i) if words[k] in PAIN_WORDS and (
            k + 1 >= len(words) or words[k + 1] not in NOT_PAIN_ITSELF)]
        if word != "from" or not pains or any(words[k] in NOT_A_CHANGE_YET for k in range(pains[-1] + 1, i)):
            continue
        first = _score(words, i + 1)
        if first is None or first[1] >= len(words) or words[first[1]] != "to":
            continue
        second = _score(words, first[1] + 1)
        if second is None or second[0] == first[0] or events.is_question(sentence):
            continue
        rest = words[second[1]:]
        if rest and (rest[0] in SCORE_UNITS or any(
                e.start == sentence.start + second[1] for e in sentence.ents if e.label_ != "SYMPTOM")):
            continue  # "from 10 to 5 mg of oxy", "from 8 to 4 Norco a day": a dose, not a score
        if second[0] > first[0] and any(w in CAUSE_AFTER for w in rest):
            continue  # "went from a 3 to a 7 after they cut my Norco": what the cut did, not the drug
        return "effective" if second[0] < first[0] else "ineffective"
    return None


def hard_to_stop(sentence: Span, rule_cues: list[Span], context_rules) -> bool:
    """Whether the sentence says stopping a drug was hard (``stopping`` and ``hardship`` in
    ``vocab/outcome_rule_cues.tsv``): a hardship word at most ``HARDSHIP_GAP`` of ``HARDSHIP_LINKS`` before a
    stopping phrase ("very hard to come off", "a hard time coming off of it"), or a stopping phrase with a copula
    and then a hardship word at most ``STOPPING_GAP`` words after it ("Going off this drug was horrible",
    "Getting off of Cymbalta has been very difficult"), with no punctuation between, the hardship word
    neither negated nor hypothetical ("Had no difficulty with going off cymbalta")."""
    stops = [c for c in rule_cues if c.label_ == "stopping" and _stops_a_drug(c, sentence)]
    hards = [c for c in rule_cues if c.label_ == "hardship"]
    if not stops or not hards:
        return False
    doc = sentence.doc
    for hard in hards:
        for stop in stops:
            if hard.end <= stop.start:
                between = doc[hard.end:stop.start]
                near = len(between) <= HARDSHIP_GAP and all(t.lower_ in HARDSHIP_LINKS for t in between)
            elif stop.end <= hard.start:
                between = doc[stop.end:hard.start]
                near = len(between) <= STOPPING_GAP and any(t.lower_ in COPULAS for t in between)
            else:
                continue
            if near and not any(t.is_punct for t in between):
                found = context_rules.assess(hard)
                if not (found.negated or found.hypothetical):
                    return True
    return False


def neutral_drug_text(sentence: Span, ents: list[Span], text: str | None = None) -> str:
    """The sentence with drug and drug-class mentions replaced by "medication ", for VADER.

    VADER reads the "pain" of "PAIN MEDS" as a feeling, and "no pain" as relief, so
    "NO PAIN MEDS WORK ON ME" scored +0.55; with the drug neutralised it scores -0.68.
    Built from character offsets; ``text`` is the doc's text when the caller has it
    (``doc.text`` joins every token again)."""
    doc = sentence.doc
    text = doc.text if text is None else text
    end_with_space = lambda token_end: doc[token_end].idx if token_end < len(doc) else len(text)  # noqa: E731
    start, end = sentence.start_char, end_with_space(sentence.end)
    drugs = [e for e in ents if e.label_ in DRUG_LABELS]
    if not drugs:
        return text[start:end]
    parts, at = [], start
    for drug in drugs:
        parts.append(text[at:drug.start_char])
        parts.append("medication ")
        at = end_with_space(drug.end)
    parts.append(text[at:end])
    return "".join(parts)


_IT = hash_string("it")
_FEEL = frozenset(hash_string(w) for w in ("feel", "feels", "felt"))
_WORK_VERBS = frozenset(hash_string(w) for w in WORK_VERBS)
# The writer's own words, or "how" ("It's amazing how much better I feel"): "it" is no drug doing it.
_NOT_THE_DRUG_DOING = frozenset(hash_string(w) for w in context.FIRST_PERSON | {"how"})


def _negation_before(entity: Span, sentence: Span) -> bool:
    """A negation word in the four words before the entity ("I never stopped taking Cymbalta", "I can't stop
    Lyrica"; not "I couldn't stand the sweating so I stopped Cymbalta")."""
    words = events.lower_words(sentence.doc)
    return any(w in events._NOT for w in words[max(sentence.start, entity.start - 4):entity.start])


def _it_works(sentence: Span, effective_cues: list[Span]) -> bool:
    """Whether "it" (the drug the sentences before named) is what works or helps, before any word of the
    writer's own: "It clearly was helping", "So I restarted it and it works again", "It was the only drug that
    ever helped"; not "I feel so much better now that I'm off it" (after a stop), "It feels great" nor "It's amazing
    how much better I feel".
    """
    words = events.lower_words(sentence.doc)
    starts = {c.start for c in effective_cues}
    for i in range(sentence.start, sentence.end):
        if words[i] != _IT or (i + 1 < sentence.end and words[i + 1] in _FEEL) or events.preceded_by(
                sentence.doc[i:i + 1], "drug_stopped", sentence):
            continue
        for j in range(i + 1, sentence.end):
            if words[j] in _NOT_THE_DRUG_DOING:
                break
            if words[j] in _WORK_VERBS or j in starts:
                return True
    return False


def _asserted_drug(entity: Span) -> bool:
    """A drug or drug class named as taken: neither negated nor hypothetical."""
    return (entity.label_ in DRUG_LABELS and not extensions.value(entity, "negated")
            and not extensions.value(entity, "hypothetical"))


def by_sentence(sentences: list[Span], spans: list[Span]) -> list[list[Span]]:
    """The spans of each sentence, in one pass (``sentence.ents`` scans the whole doc each time)."""
    starts = [s.start for s in sentences]
    grouped: list[list[Span]] = [[] for _ in sentences]
    for span in spans:
        if starts:
            grouped[max(bisect_right(starts, span.start) - 1, 0)].append(span)
    return grouped


# What a writer wishes for, right before an effective phrase: "I just want to feel like myself again", "... out of my
# system so I can feel normal again", "I wish I could be a functioning human being" (session 19; a context trigger
# "so I can" reached past a comma to effects had: "every 4 hours so I can function, and it makes me constipated").
_WISHED = re.compile(r"(?:want(?:ed)? to|wish i could|hop(?:e|ing) to|so (?:that )?i (?:can|could)|would like to)"
                     r"(?: (?:be|feel|get|become|start|finally))*$")


def _wished(cue: Span, sentence: Span) -> bool:
    """Whether the effective phrase ``cue`` is what the writer wishes for (``_WISHED`` right before it)."""
    before = " ".join(t.lower_ for t in sentence.doc[max(sentence.start, cue.start - 6):cue.start])
    return bool(_WISHED.search(before))


def _nearest(candidates: list[Span], anchor: Span) -> Span | None:
    if not candidates:
        return None
    return min(candidates, key=lambda c: min(abs(c.start - anchor.end), abs(anchor.start - c.end)))


@Language.factory(
    "fms_outcomes",
    assigns=["doc.spans", "span._.drug", "span._.events", "span._.negated", "span._.hypothetical",
             "span._.sentiment", "doc._.sentiment"],
    requires=["doc.ents", "doc.sents"],
)
def make_drug_outcomes(nlp: Language, name: str) -> DrugOutcomes:
    return DrugOutcomes(nlp)
