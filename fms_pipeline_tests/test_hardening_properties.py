"""Property tests (hypothesis, issue 22 item 1): a value of the wrong type or out of range in any field
of any record of every JSON and XML format never stops the reader or the staging of the file; every
other record lands; a record that cannot be read is a skipped record with a place and a reason.

Each test starts from the format's fixture (fms_pipeline_tests/fixtures/sources/) and puts one wrong
value (or a wrong shape, for XML) into one field of one record.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from fms_pipeline.parsing.sources import (
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    detect_format,
    read_source,
)
from fms_pipeline.parsing.threads import assemble_threads, record_batches

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)

# Wrong values: numbers of every kind (NaN, infinities, huge, negative), true/false, null, lists,
# objects, nested values, text that is no id or date, text with a lone surrogate (valid JSON escapes).
WRONG = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -0.0, 2 ** 31, 2 ** 63, 10 ** 5000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["\ud800", "x\udfffy", "²", "0000-00-00", "t1_", "t3_", "", " ", "[deleted]", "NaN"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2) | st.dictionaries(
        st.sampled_from(["data", "kind", "children", "rendered", "name"]), inner, max_size=2), max_leaves=6),
)


def run(data: bytes, name: str):
    """Read and stage a file as a run does: (records, documents, comments) or None when the file as a
    whole is rejected (with a reason). Any other exception fails the test."""
    try:
        fmt = detect_format(name, data[:65536])
        records = list(read_source(fmt, lambda: io.BytesIO(data), name))
    except RejectedSource as error:
        assert str(error)
        return None
    batches = list(record_batches(records, fmt.name))
    docs, coms = assemble_threads(name, pl.concat([b[0] for b in batches]).lazy(),
                                  pl.concat([b[1] for b in batches]).lazy(), source_format=fmt.name)
    docs, coms = pl.collect_all([docs, coms])
    for r in records:
        if isinstance(r, SkippedRecord):
            assert r.where and r.reason, r
    return records, docs, coms


def keys(records, kind) -> set:
    return {r.key for r in records if isinstance(r, kind)}


# ---------------------------------------------------------------- JSON: Reddit dump lines

DUMP = [json.loads(line) for line in (FIXTURES / "reddit_dump.ndjson").read_text().splitlines() if
        not line.startswith('{"id":"kf2bb04"')]  # the fixture's deliberately broken line left out
DUMP_FIELDS = sorted({field for record in DUMP for field in record} | {"replies", "edited", "title", "body"})


@EXAMPLES
@given(line=st.integers(0, len(DUMP) - 1), field=st.sampled_from(DUMP_FIELDS), value=WRONG)
def test_reddit_dump_wrong_value_in_any_field(line: int, field: str, value):
    records = copy.deepcopy(DUMP)
    records[line][field] = value
    text = "\n".join(json.dumps(r, allow_nan=True) for r in records)
    result = run(text.encode("utf-8", "surrogatepass"), "dump.ndjson")
    assert result is not None  # a dump is never rejected for one line
    out, _docs, _coms = result
    # Every line is accounted for: a record, or a skipped record naming its line.
    assert len(out) == len(records), out
    skipped = [r for r in out if isinstance(r, SkippedRecord)]
    assert all(r.where == f"line {line + 1}" for r in skipped)
    others = {r["id"] for i, r in enumerate(records) if i != line}
    assert others <= keys(out, SourceComment) | keys(out, SourceDocument)


# ---------------------------------------------------------------- JSON: a Reddit API thread

THREAD = json.loads((FIXTURES / "reddit_thread.json").read_text())


def _things(value, path=()):
    """(path, thing data) of every t1/t3 in the thread."""
    if isinstance(value, dict):
        if value.get("kind") in ("t1", "t3") and isinstance(value.get("data"), dict):
            yield path + ("data",), value["data"]
        for k, v in value.items():
            yield from _things(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _things(v, path + (i,))


THINGS = list(_things(THREAD))
THING_FIELDS = sorted({field for _, data in THINGS for field in data} | {"replies"})


def _subtree_ids(data: dict) -> set:
    return {d.get("id") for _, d in _things(data.get("replies"))} | {data.get("id")}


@EXAMPLES
@given(which=st.integers(0, len(THINGS) - 1), field=st.sampled_from(THING_FIELDS), value=WRONG)
def test_reddit_thread_wrong_value_in_any_field(which: int, field: str, value):
    thread = copy.deepcopy(THREAD)
    path, original = THINGS[which]
    target = thread
    for step in path:
        target = target[step]
    target[field] = value
    result = run(json.dumps(thread, allow_nan=True).encode("utf-8", "surrogatepass"), "thread.json")
    assert result is not None
    out, _docs, _coms = result
    affected = _subtree_ids(original)
    expected = {d["id"] for _, d in THINGS if d.get("id") not in affected and d.get("body") is not None}
    assert expected <= keys(out, SourceComment)


# ---------------------------------------------------------------- JSON: WordPress REST

POST = json.loads((FIXTURES / "wordpress_post.json").read_text())
POST_FIELDS = sorted(set(POST) - {"comments"})
COMMENT_FIELDS = sorted({field for c in POST["comments"] for field in c})
APPROVED = keys(run((FIXTURES / "wordpress_post.json").read_bytes(), "post.json")[0], SourceComment)


@EXAMPLES
@given(field=st.sampled_from(POST_FIELDS), value=WRONG)
def test_wordpress_post_wrong_value_in_any_field(field: str, value):
    post = copy.deepcopy(POST)
    post[field] = value
    result = run(json.dumps(post, allow_nan=True).encode("utf-8", "surrogatepass"), "post.json")
    if result is None:
        assert field in ("id", "content", "title")  # what makes JSON a WordPress post at all
        return
    out, _docs, _coms = result
    # The post is read or skipped with its reason; its comments land either way.
    assert keys(out, SourceDocument) or any(isinstance(r, SkippedRecord) for r in out)
    if field != "id":
        assert APPROVED <= keys(out, SourceComment)


@EXAMPLES
@given(which=st.integers(0, len(POST["comments"]) - 1), field=st.sampled_from(COMMENT_FIELDS), value=WRONG)
def test_wordpress_comment_wrong_value_in_any_field(which: int, field: str, value):
    post = copy.deepcopy(POST)
    post["comments"][which][field] = value
    result = run(json.dumps(post, allow_nan=True).encode("utf-8", "surrogatepass"), "post.json")
    assert result is not None
    out, _docs, _coms = result
    assert keys(out, SourceDocument) == {str(POST["id"])}
    assert APPROVED - {str(POST["comments"][which]["id"])} <= keys(out, SourceComment)


# ---------------------------------------------------------------- JSON: a Discourse topic

TOPIC = json.loads((FIXTURES / "discourse_topic.json").read_text())
TOPIC_POST_FIELDS = ["post_number", "cooked", "username", "created_at", "reply_to_post_number", "actions_summary",
                     "post_type", "deleted_at", "hidden", "id"]
TOPIC_COMMENTS = keys(run((FIXTURES / "discourse_topic.json").read_bytes(), "topic.json")[0], SourceComment)


@EXAMPLES
@given(which=st.integers(0, len(TOPIC["post_stream"]["posts"]) - 1), field=st.sampled_from(TOPIC_POST_FIELDS),
       value=WRONG)
def test_discourse_post_wrong_value_in_any_field(which: int, field: str, value):
    topic = copy.deepcopy(TOPIC)
    topic["post_stream"]["posts"][which][field] = value
    result = run(json.dumps(topic, allow_nan=True).encode("utf-8", "surrogatepass"), "topic.json")
    assert result is not None
    out, _docs, _coms = result
    own = str(TOPIC["post_stream"]["posts"][which]["post_number"])
    assert TOPIC_COMMENTS - {own} <= keys(out, SourceComment)


# ---------------------------------------------------------------- XML: WordPress export and Disqus

XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30) | st.sampled_from(
    ["", "0", "²", "7" * 5000, "-1", "NaN", "1e999", "0000-00-00 00:00:00", "true", "<b>x</b>"])
SHAPES = st.sampled_from(["text", "remove", "duplicate", "child", "attribute"])


def _mutate(element: etree._Element, shape: str, text: str) -> None:
    if shape == "text":
        element.text = text
    elif shape == "remove":
        element.getparent().remove(element)
    elif shape == "duplicate":
        element.addnext(copy.deepcopy(element))
    elif shape == "child":
        child = etree.SubElement(element, "b")
        child.text, child.tail = text, " tail"
    else:
        element.set("odd", text)


def _fields(root: etree._Element, record_tags: set[str]) -> list[tuple[int, ...]]:
    """Paths (child indexes from the root) of every field element of every record element (items,
    comments, threads, posts)."""
    found = []
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in record_tags:
            found.extend(_path(child) for child in element if isinstance(child.tag, str))
    return found


def _path(element: etree._Element) -> tuple[int, ...]:
    steps = []
    while element.getparent() is not None:
        steps.append(element.getparent().index(element))
        element = element.getparent()
    return tuple(reversed(steps))


def _at(root: etree._Element, path: tuple[int, ...]) -> etree._Element:
    for step in path:
        root = root[step]
    return root


WXR_ROOT = etree.fromstring((FIXTURES / "wordpress_export.xml").read_bytes())
WXR_FIELDS = _fields(WXR_ROOT, {"item", "comment"})
WXR_COMMENTS = keys(run((FIXTURES / "wordpress_export.xml").read_bytes(), "export.xml")[0], SourceComment)


@EXAMPLES
@given(which=st.integers(0, len(WXR_FIELDS) - 1), shape=SHAPES, text=XML_TEXT)
def test_wordpress_export_wrong_field(which: int, shape: str, text: str):
    root = copy.deepcopy(WXR_ROOT)
    field = _at(root, WXR_FIELDS[which])
    record = field.getparent()
    touched = {record.findtext("{*}comment_id")} if etree.QName(record).localname == "comment" else {
        c.findtext("{*}comment_id") for c in record.iter("{http://wordpress.org/export/1.2/}comment")}
    _mutate(field, shape, text)
    result = run(etree.tostring(root, xml_declaration=True, encoding="utf-8"), "export.xml")
    assert result is not None  # two posts are published: one bad field never rejects the file
    out, _docs, _coms = result
    assert WXR_COMMENTS - touched <= keys(out, SourceComment)


DISQUS_ROOT = etree.fromstring((FIXTURES / "disqus_export.xml").read_bytes())
DISQUS_FIELDS = _fields(DISQUS_ROOT, {"thread", "post", "author"})
DSQ_ID = "{http://disqus.com/disqus-internals}id"
DISQUS_POSTS = keys(run((FIXTURES / "disqus_export.xml").read_bytes(), "export.xml")[0], SourceComment)


@EXAMPLES
@given(which=st.integers(0, len(DISQUS_FIELDS) - 1), shape=SHAPES, text=XML_TEXT)
def test_disqus_export_wrong_field(which: int, shape: str, text: str):
    root = copy.deepcopy(DISQUS_ROOT)
    field = _at(root, DISQUS_FIELDS[which])
    record = field.getparent()
    while etree.QName(record).localname not in ("thread", "post"):
        record = record.getparent()
    touched = {record.get(DSQ_ID)} if etree.QName(record).localname == "post" else {
        p.get(DSQ_ID) for p in root.iter("{http://disqus.com}post")
        if (p.find("{*}thread") is not None and p.find("{*}thread").get(DSQ_ID) == record.get(DSQ_ID))}
    name = etree.QName(field).localname
    _mutate(field, shape, text)
    result = run(etree.tostring(root, xml_declaration=True, encoding="utf-8"), "export.xml")
    if result is None:  # only when the one live thread is marked deleted: "threads are all deleted"
        assert name == "isDeleted" and etree.QName(record).localname == "thread"
        return
    out, _docs, _coms = result
    assert DISQUS_POSTS - touched <= keys(out, SourceComment)


@pytest.mark.parametrize("name", ["reddit_dump.ndjson", "reddit_thread.json", "wordpress_post.json",
                                  "discourse_topic.json", "wordpress_export.xml", "disqus_export.xml"])
def test_the_fixtures_themselves_read_cleanly(name: str):
    """The property tests' starting points read with no skipped record but the dump's deliberate one."""
    out, docs, coms = run((FIXTURES / name).read_bytes(), name)
    skipped = [r for r in out if isinstance(r, SkippedRecord)]
    assert len(skipped) == (1 if name == "reddit_dump.ndjson" else 0) and len(docs) + len(coms) > 0
