"""Forum threads and Q&A (issue 19 item 4): phpBB, vBulletin, XenForo, Discourse (page and topic JSON),
Stack Exchange (question page and data dump), and comment blocks found by what comment systems share."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fms_pipeline import ids
from fms_pipeline.parsing.sources import RejectedSource, SkippedRecord, SourceComment, SourceDocument
from fms_pipeline_tests.test_sources import FIXTURES, read, staged, thread_rows


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _records(name: str | Path) -> tuple[str, SourceDocument, list[SourceComment]]:
    fmt, records = read(name if isinstance(name, Path) else FIXTURES / name)
    documents = [r for r in records if isinstance(r, SourceDocument)]
    assert len(documents) == 1
    return fmt.name, documents[0], [r for r in records if isinstance(r, SourceComment)]


def _rows(comments: list[SourceComment]) -> list[tuple]:
    return [(c.key, c.parent_key, c.author, c.published_at) for c in comments]


# ---------------------------------------------------------------- forum pages

def test_phpbb_thread():
    fmt, doc, posts = _records("forum_phpbb.html")
    assert fmt == "html"
    assert (doc.title, doc.byline, doc.body, doc.published_at, doc.url, doc.community) == (
        "Pregabalin and weight gain", "hollyhock", "", utc(2019, 3, 2, 9, 15),
        "https://forum.fibrofriends.example.org/viewtopic.php?t=4411", "forum.fibrofriends.example.org")
    # Every post a comment; the quote of post 18870 makes 18881 its reply.
    assert _rows(posts) == [
        ("18870", None, "hollyhock", utc(2019, 3, 2, 9, 15)),
        ("18874", None, "Moderator Ann", utc(2019, 3, 2, 11, 40)),
        ("18881", "18870", "tired_teacher", utc(2019, 3, 4, 20, 5))]
    # The signature and the quoted text are not the post's text; the user card is not its author.
    assert posts[0].body == ("I have been on pregabalin (Lyrica) for six months and put on nearly a stone.\n"
                             "Has anyone found a way to stop the weight gain without coming off it?")
    assert posts[2].body == "Cutting out sugar helped me a bit, and walking after meals. The cravings on Lyrica are real."


def test_vbulletin_thread_in_iso_8859_1_with_german_and_relative_dates():
    fmt, doc, posts = _records("forum_vbulletin.html")
    assert (doc.title, doc.byline, doc.community) == (
        "Müdigkeit unter Duloxetin", "Sonnenblume", "www.schmerzforum.example.de")
    # "05.03.2019" day first (lang="de"); "Gestern, 14:05" counted from the page's saved date
    # (SingleFile: Thu Mar 07 2019 10:12:33 GMT+0100); "5. März 2019" in German.
    assert _rows(posts) == [
        ("55101", None, "Sonnenblume", utc(2019, 3, 5, 8, 30)),
        ("55140", "55101", "Waldweg", utc(2019, 3, 6, 14, 5)),
        ("55152", None, "Kiesel", utc(2019, 3, 5, 19, 45))]
    assert posts[0].body.startswith("Ich bin so müde seit ich Duloxetin nehme.") and "Grüße, Sonnenblume" not in posts[0].body
    assert posts[1].body == "Bei mir wurde es nach drei Wochen besser. Nimm es abends, dann schläfst du die Müdigkeit weg."


def test_a_relative_date_without_the_page_date_stays_unknown(tmp_path: Path):
    data = (FIXTURES / "forum_vbulletin.html").read_bytes()
    start, end = data.index(b"<!--"), data.index(b"-->") + 3
    page = tmp_path / "thread.html"
    page.write_bytes(data[:start] + data[end:])  # no saved date: "Gestern" is not counted from today
    _, _, posts = _records(page)
    assert [p.published_at for p in posts] == [utc(2019, 3, 5, 8, 30), None, utc(2019, 3, 5, 19, 45)]


def test_vbulletin_3_thread():
    _, doc, posts = _records("forum_vbulletin3.html")  # tables, ISO-8859-1 declared by http-equiv
    assert (doc.title, doc.byline) == ("Tilidin und Müdigkeit", "Hagebutte")
    assert _rows(posts) == [("10021", None, "Hagebutte", utc(2011, 2, 12, 21, 14)),
                            ("10030", "10021", "Distel", utc(2011, 2, 13, 7, 50))]
    assert posts[0].body == "Seit ich Tilidin nehme, bin ich tagsüber ständig müde. Ist das normal?"
    assert posts[1].body == "Ja, das geht meist nach zwei bis drei Wochen vorbei. Sprich sonst mit deinem Arzt."


def test_xenforo_thread():
    _, doc, posts = _records("forum_xenforo.html")
    assert (doc.title, doc.byline, doc.published_at) == (
        "Low dose naltrexone - first month", "marigold", utc(2023, 1, 10, 21, 4, 11))
    assert _rows(posts) == [
        ("88120", None, "marigold", utc(2023, 1, 10, 21, 4, 11)),
        ("88131", "88120", "Rowan B", utc(2023, 1, 11, 8, 15))]
    assert posts[1].body == "The sleep usually comes first. Give it three months before you judge the pain."
    assert "Well-known member" not in posts[0].body and "1,207" not in posts[0].body


def test_discourse_page_and_topic_json_read_alike():
    _, doc, posts = _records("forum_discourse.html")
    assert (doc.title, doc.byline, doc.community) == (
        "Tapering off oxycodone: what helped", "fernhill", "commons.painpeers.example.net")
    assert _rows(posts) == [
        ("1", None, "fernhill", utc(2022, 11, 2, 18, 30, 12)),
        ("2", None, "dr_walsh", utc(2022, 11, 3, 9, 2, 40)),
        ("3", "1", "Juniper_K", utc(2022, 11, 5, 22, 47, 3))]
    assert posts[2].body == "Magnesium in the evening took the edge off the restless legs for me."
    assert "14 Likes" not in posts[0].body

    fmt, topic, json_posts = _records("discourse_topic.json")
    assert fmt == "discourse_json"
    assert (topic.key, topic.title, topic.byline, topic.body) == ("2291", "Tapering off oxycodone: what helped", "fernhill", "")
    # The small action ("closed the topic") is not a post; reply_to_post_number and the quote both link.
    assert [(c.key, c.parent_key, c.author, c.score) for c in json_posts] == [
        ("1", None, "fernhill", 14), ("2", "1", "dr_walsh", 3), ("3", "1", "Juniper_K", None)]
    assert [c.body for c in json_posts] == [c.body for c in posts]
    docs, comments, _ = staged(FIXTURES / "discourse_topic.json")
    assert docs["comment_count"].to_list() == [3]
    assert thread_rows(comments, ids.document_id("discourse_topic.json", "2291"))[2][:3] == (3, 2, 1)


def test_discourse_json_of_the_wrong_shape_is_rejected(tmp_path: Path):
    path = tmp_path / "topic.json"
    path.write_text('{"post_stream": {"posts": {"post_number": 1, "cooked": "<p>hi</p>"}}, "id": 3}')
    with pytest.raises(RejectedSource, match=r"^not a Discourse topic: no post_stream.posts list$"):
        read(path)


# ---------------------------------------------------------------- Stack Exchange

def test_stack_exchange_question_page():
    _, doc, posts = _records("qa_stackexchange.html")
    assert (doc.title, doc.byline, doc.published_at, doc.community) == (
        "Does amitriptyline lose its effect on fibromyalgia sleep over time?", "user unknown",
        utc(2015, 2, 19, 15, 22, 3), "health.stackexchange.example")
    # Answers reply to the question, comments to their post; the author is the asker, not the editor,
    # and without the user card ("22.6k 3 3 gold badges").
    assert [(c.key, c.parent_key, c.author, c.published_at, c.score) for c in posts] == [
        ("post-1234", None, "user unknown", utc(2015, 2, 19, 15, 22, 3), 7),
        ("comment-4001", "post-1234", "Marlowe", utc(2015, 2, 19, 16, 40, 10), 3),
        ("post-1240", "post-1234", "Dr Iona Bell", utc(2015, 2, 19, 18, 3, 47), 12),
        ("comment-4007", "post-1240", "user unknown", utc(2015, 3, 5, 7, 12, 55), 0),
        ("comment-4010", "post-1240", "Dr Iona Bell", utc(2015, 3, 5, 9, 30), 1),
        ("post-1302", "post-1234", "wren", utc(2016, 7, 1, 12), -1)]
    assert posts[2].body.startswith("Tolerance to the sedating (antihistamine) effect") and "Share" not in posts[2].body
    docs, comments, _ = staged(FIXTURES / "qa_stackexchange.html")
    assert [r[:3] for r in thread_rows(comments, docs["document_id"][0])] == [
        (1, 1, None), (2, 2, 1), (3, 2, 1), (4, 3, 3), (5, 3, 3), (6, 2, 1)]


def _dump(tmp_path: Path, members: list[str], name: str = "health.stackexchange.example.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("health.stackexchange.example/", "")
        for member in members:
            archive.write(FIXTURES / "stackexchange_dump" / member, f"health.stackexchange.example/{member}")
    return path


def test_stack_exchange_dump_as_one_zip(tmp_path: Path):
    path = _dump(tmp_path, ["Comments.xml", "Posts.xml", "Users.xml"])
    fmt, records = read(path)
    assert fmt.name == "stackexchange_dump"
    docs = [r for r in records if isinstance(r, SourceDocument)]
    assert [(d.key, d.title, d.byline, d.url) for d in docs] == [
        ("1", "How hard is it to come off duloxetine?", "Morag", "https://health.stackexchange.example/questions/1"),
        ("4", "Low dose naltrexone for fibromyalgia", "Gone Away", "https://health.stackexchange.example/questions/4")]
    # The tag wiki (PostTypeId 5) is not conversation; an unknown account is "user<id>"; the comment on
    # a post the dump does not hold is a skipped record.
    comments = [r for r in records if isinstance(r, SourceComment)]
    assert [(c.document_key, c.key, c.parent_key, c.author, c.score) for c in comments] == [
        ("1", "post-1", None, "Morag", 10), ("1", "post-3", "post-1", "Dr Iona Bell", 14),
        ("4", "post-4", None, "Gone Away", 3), ("1", "post-5", "post-1", "user31", -2),
        ("1", "comment-7", "post-1", "Dr Iona Bell", 2), ("1", "comment-9", "post-3", "Morag", 1),
        ("1", "comment-11", "post-3", "anon_reader", 0)]
    assert comments[1].body == ('Withdrawal from duloxetine is common: dizziness and "brain zaps" are often reported.\n\n'
                                "A slow taper over weeks, agreed with your doctor, reduces them.")
    assert comments[0].published_at == datetime(2015, 3, 31, 19, 0, 1, 793000, tzinfo=UTC)
    assert [r for r in records if isinstance(r, SkippedRecord)] == [
        SkippedRecord("comment 12", "its post 99 is not a question or answer in Posts.xml")]
    staged_docs, staged_comments, _ = staged(path)
    question = ids.document_id(path.name, "1")
    assert [r[:3] for r in thread_rows(staged_comments, question)] == [(1, 1, None), (2, 2, 1), (3, 2, 1), (4, 3, 3), (5, 3, 3), (6, 2, 1)]


def test_stack_exchange_posts_alone_and_wrong_shapes(tmp_path: Path):
    fmt, records = read(FIXTURES / "stackexchange_dump" / "Posts.xml")
    assert fmt.name == "stackexchange_dump"
    assert sum(isinstance(r, SourceComment) for r in records) == 4 and records[0].url is None
    with pytest.raises(RejectedSource, match=r"^a Stack Exchange Comments.xml alone: .* put Posts.xml, Comments.xml"):
        read(FIXTURES / "stackexchange_dump" / "Comments.xml")
    with pytest.raises(RejectedSource, match=r"^a Stack Exchange dump archive without Posts.xml \(it holds comments.xml, users.xml\)"):
        read(_dump(tmp_path, ["Comments.xml", "Users.xml"]))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(_dump(tmp_path, ["Posts.xml", "Comments.xml"]).read_bytes()[:-100])  # no central directory
    with pytest.raises(RejectedSource, match=r"^a ZIP archive that cannot be read: "):
        read(cut)
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.write(FIXTURES / "stackexchange_dump" / "Users.xml", "Posts.xml")
    with pytest.raises(RejectedSource, match=r"^Posts.xml is not the dump's Posts.xml: its root element is <users>$"):
        read(wrong)
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("cat.txt", "not a dump")
    with pytest.raises(RejectedSource, match=r"^unrecognised format: a ZIP archive"):
        read(other)
    broken = tmp_path / "Posts.xml"
    text = (FIXTURES / "stackexchange_dump" / "Posts.xml").read_text()
    broken.write_text(text[: text.index('  <row Id="4"')] + '  <row Id="4" PostTypeId="1" Body="cut')
    fmt, records = read(broken)
    assert [r.key for r in records if isinstance(r, SourceComment)] == ["post-1", "post-3"]
    assert isinstance(records[-1], SkippedRecord) and records[-1].where == "the file after row 3"


# ---------------------------------------------------------------- comment blocks by what systems share

def test_a_comment_plugin_found_by_its_anchors_with_dates_from_the_text():
    _, doc, comments = _records("html_comment_plugin.html")
    assert doc.title == "Ten years of fibromyalgia medications" and doc.byline == "Noor Haddad"
    assert "Cymbalta" not in doc.body
    # All 13 (div#comment-NNN[data-comment-id]); <time datetime="comment_date"> is a placeholder: the text is the date.
    assert len(comments) == 13
    assert [(c.key, c.parent_key) for c in comments] == [
        ("501", None), ("502", "501"), ("503", "502"), ("504", None), ("505", None), ("506", "505"), ("507", "505"),
        ("508", "507"), ("509", None), ("510", "509"), ("511", None), ("512", "511"), ("513", None)]
    assert (comments[0].author, comments[0].published_at, comments[0].body) == (
        "Delia", utc(2017, 3, 10, 0, 20), "Cymbalta made me sweat at night for the first month.")
    assert comments[3].author_is_anonymous and comments[12].published_at == utc(2017, 5, 1, 17, 55)
    assert all(c.published_at is not None and "Reply" not in c.body for c in comments)


def test_a_theme_whose_time_has_no_datetime():
    _, _, comments = _records("html_time_text.html")
    # "16. March, 2023 at 16:59"; "03/04/2023" is 3 April on an en-GB page.
    assert _rows(comments) == [("1201", None, "Maeve", utc(2023, 3, 16, 16, 59)),
                               ("1204", "1201", "Elspeth Rowe", utc(2023, 4, 3, 9, 15))]


def test_a_forum_page_without_posts_is_not_taken_for_a_thread(tmp_path: Path):
    page = tmp_path / "index.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>Board index</title></head><body id="phpbb">'
                    '<div class="forabg"><ul class="topiclist"><li><a href="./viewforum.php?f=3">Medication</a></li>'
                    "</ul></div></body></html>")
    with pytest.raises(RejectedSource, match=r"^not an article: no main text \(\d+ words\) and no comments$"):
        read(page)


def test_a_post_anchored_post_nnn_is_not_its_own_comment(tmp_path: Path):
    page = (FIXTURES / "html_wordpress_comments.html").read_text()
    start, end = page.index('<div id="comments"'), page.index("</main>")
    alone = tmp_path / "post.html"  # article#post-87.hentry, no comments; then without WordPress's post classes
    for text in (page[:start] + page[end:], (page[:start] + page[end:]).replace(" hentry", "").replace(
            " type-post status-publish", "")):
        alone.write_text(text)
        _, doc, comments = _records(alone)
        assert comments == [] and doc.body.startswith("For two years tramadol")


def test_older_phpbb_and_xenforo_markup():
    # phpBB 3.0: the date only as text after "»"; a quote without a post id is no reply link.
    _, doc, posts = _records("forum_phpbb30.html")
    assert (doc.title, doc.url) == ("TENS machines - worth it?", None)
    assert _rows(posts) == [("2210", None, "bramble", utc(2013, 1, 8, 22, 42)), ("2216", None, "Old Oak", utc(2013, 1, 9, 8, 3))]
    assert posts[1].body == "Yes. Mine cost less than a month of physio and I use it every evening."
    # XenForo 1: the date in a title (older posts) or as Unix seconds (data-time); AttributionLink to the quoted post.
    _, doc, posts = _records("forum_xenforo1.html")
    assert (doc.title, doc.community) == ("TENS or acupuncture?", "painchat.example.org")
    assert _rows(posts) == [("5501", None, "pebble", utc(2014, 1, 9, 21)), ("5507", "5501", "Heron Lane", utc(2014, 1, 10, 8))]
    assert "Well-Known Member" not in posts[1].body and "Click to expand" not in posts[1].body
