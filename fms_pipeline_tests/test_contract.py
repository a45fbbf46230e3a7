"""The table contract (issue 21): every table declared once, beside its SQL, and everything else
derived from the declaration — checked on real builds of the sample."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import pytest

from fms_pipeline import labels, privacy, tables, warehouse
from fms_pipeline.tables import ContractError
from fms_pipeline_tests.conftest import SAMPLE, stage_folder

SQL_ROOT = Path(tables.__file__).parent / "warehouse" / "sql"
SECRET = b"contract-test-secret-0123456789"

# A table a user might add: one SQL file and its declaration, nothing else.
EXTRA_SQL = """\
CREATE TABLE comments_per_author AS
SELECT c.author, count(*) AS comments, max(c.body) AS longest_body_sample
FROM comments AS c
WHERE c.author IS NOT NULL
GROUP BY c.author
ORDER BY comments DESC, c.author;
"""
EXTRA_YML = """\
name: comments_per_author
grain: one row per named author
description: How many comments each named author wrote.
tests: [{unique_combination: [author]}]
columns:
  - name: author
    type: VARCHAR
    description: The author's name as written.
    privacy: pseudonymised
    tests: [not_null]
  - name: comments
    type: BIGINT
    description: Comments by the author.
    privacy: kept
  - name: longest_body_sample
    type: VARCHAR
    description: One of the author's comments (the last in sort order), as a sample of what they write.
    privacy: masked
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory, nlp) -> Path:
    data = tmp_path_factory.mktemp("contract") / "data"
    (data / "raw").mkdir(parents=True)
    shutil.copy(SAMPLE, data / "raw" / SAMPLE.name)
    return stage_folder(data)


@pytest.fixture(scope="module")
def built(staged: Path) -> Path:
    path = staged.parent / "warehouse.duckdb"
    warehouse.build_warehouse(staged, path)
    return path


def test_every_sql_file_has_its_declaration_and_every_declaration_its_sql():
    sql = {p.relative_to(SQL_ROOT).with_suffix("") for layer in tables.LAYERS for p in (SQL_ROOT / layer).glob("*.sql")}
    yml = {p.relative_to(SQL_ROOT).with_suffix("") for layer in tables.LAYERS for p in (SQL_ROOT / layer).glob("*.yml")}
    assert sql == yml and len(sql) == len(tables.TABLES)
    assert {Path(t.sql_file).with_suffix("") for t in tables.TABLES.values()} == sql
    assert tables.lineage_errors(tables.TABLES) == []


def test_built_columns_equal_the_declared_ones_and_carry_their_descriptions(built: Path):
    with duckdb.connect(str(built), read_only=True) as con:
        for table in tables.TABLES.values():
            rows = con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() "
                               "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
                               [table.name]).fetchall()
            assert [(n, t) for n, t, _ in rows] == [(c.name, c.type) for c in table.columns], table.name
            assert all(comment for _, _, comment in rows), table.name
            [(comment,)] = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [table.name]).fetchall()
            assert table.description in comment
        # Every warehouse column in the file has a comment (nothing built that is not declared).
        assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal "
                           "AND table_name NOT LIKE '\\_%' ESCAPE '\\' AND comment IS NULL").fetchall()[0][0] == 0


def test_the_declared_tests_are_one_asset_check_per_table_naming_the_failing_tests(built: Path, tmp_path: Path):
    from fms_pipeline.defs.checks import _contract_specs, contract_results

    names = {spec.name for spec in _contract_specs()}
    assert names == {f"{t}_declared_tests" for t in tables.TABLES}
    broken = tmp_path / "broken.duckdb"
    shutil.copy(built, broken)
    with duckdb.connect(str(broken)) as con:  # a duplicated document: documents.document_id.unique fails
        con.execute("INSERT INTO documents SELECT * FROM documents LIMIT 1")
    with duckdb.connect(str(broken), read_only=True) as con:
        results = {r.asset_key.path[-1]: r for r in contract_results(con, names)}
    assert set(results) == set(tables.TABLES)
    failed = {table for table, r in results.items() if not r.passed}
    assert failed == {"documents"}
    assert "documents.document_id.unique" in results["documents"].metadata["failing_tests"].value
    assert results["documents"].metadata["failing_rows"].value == 1


def test_staged_schemas_come_from_the_declarations():
    comments = tables.TABLES["comments"]
    assert list(tables.staged_schema("comments")) == [c.name for c in comments.columns if c.staged]
    assert "sentiment" not in tables.staged_schema("comments")  # computed in the warehouse, not staged
    from fms_pipeline.parsing import threads

    assert threads.COMMENT_SCHEMA == tables.staged_schema("comments")


def test_lineage_is_read_from_the_sql():
    assert set(tables.TABLES["comments"].upstream) == {"parsed_comments", "warehouse/sentences"}
    assert set(tables.TABLES["drugs"].upstream) == {"warehouse/entity_mentions"}  # drug_reference: a python view
    assert tables.sql_reads("CREATE TABLE x AS WITH a AS (SELECT * FROM b) SELECT * FROM a JOIN c USING (k)") == ("b", "c")


def test_accepted_values_come_from_labels_yml():
    from fms_pipeline.warehouse import contract

    query = contract.test_queries(tables.TABLES["outcome_mentions"])["outcome_mentions.outcome.accepted_values"]
    for label in labels.OUTCOME_LABELS:
        assert f"'{label}'" in query


def _tree_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "sql"
    shutil.copytree(SQL_ROOT, root)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("files", "message"), [
    ({"aggregates/90_x.sql": "CREATE TABLE x AS SELECT 1 AS n;"}, "aggregates/90_x.sql: no declaration"),
    ({"aggregates/90_x.yml": "name: x\n"}, "aggregates/90_x.yml: a declaration without its SQL file"),
    ({"aggregates/90_x.sql": "CREATE TABLE x AS SELECT 1 AS n;",
      "aggregates/90_x.yml": "name: x\ngrain: g\ndescription: d\ncolumns:\n  - {name: n, type: INTEGER, description: d, privacy: secret}\n"},
     "privacy 'secret' is not one of"),
    ({"aggregates/90_x.sql": "CREATE TABLE x AS SELECT 1 AS n;",
      "aggregates/90_x.yml": "name: x\ngrain: g\ndescription: d\ncolums: []\n"}, "unknown key(s) colums"),
    ({"aggregates/90_x.sql": "CREATE TABLE x AS SELECT n FROM nowhere;",
      "aggregates/90_x.yml": "name: x\ngrain: g\ndescription: d\ncolumns:\n  - {name: n, type: INTEGER, description: d}\n"},
     "reads 'nowhere'"),
])
def test_a_broken_declaration_is_a_clear_error_naming_the_file(tmp_path: Path, files, message):
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tables.load_catalog(_tree_with(tmp_path, files))


def test_a_table_built_otherwise_than_declared_is_not_published(staged: Path, tmp_path: Path):
    target = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, target)
    before = target.stat().st_mtime_ns
    wrong = EXTRA_YML.replace("type: BIGINT", "type: INTEGER")
    catalog = tables.load_catalog(_tree_with(tmp_path, {"aggregates/90_comments_per_author.sql": EXTRA_SQL,
                                                        "aggregates/90_comments_per_author.yml": wrong}))
    with pytest.raises(warehouse.ContractBroken, match="comments: built BIGINT, declared INTEGER"):
        warehouse.build_warehouse(staged, target, incremental=False, catalog=catalog)
    assert target.stat().st_mtime_ns == before


def test_adding_a_table_is_its_sql_and_its_declaration(staged: Path, tmp_path: Path):
    """The new table is built, tested, commented, shown with its columns' descriptions in Dagster
    and handled by its privacy classes in the share copy: from the two files alone."""
    import dagster as dg

    from fms_pipeline.defs.warehouse import asset_specs

    catalog = tables.load_catalog(_tree_with(tmp_path, {"aggregates/90_comments_per_author.sql": EXTRA_SQL,
                                                        "aggregates/90_comments_per_author.yml": EXTRA_YML}))
    table = catalog["comments_per_author"]
    assert table.upstream == ("warehouse/comments",)
    target = tmp_path / "w.duckdb"
    summary = warehouse.build_warehouse(staged, target, incremental=False, catalog=catalog)
    assert summary.row_counts["comments_per_author"] > 0
    with duckdb.connect(str(target), read_only=True) as con:
        comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() "
                                    "WHERE table_name = 'comments_per_author'").fetchall())
        authors = {r[0] for r in con.execute("SELECT author FROM comments_per_author").fetchall()}
    assert comments["comments"] == "Comments by the author."
    # Dagster: the asset, its lineage and its described columns.
    [spec] = [s for s in asset_specs(catalog) if s.key == dg.AssetKey(["warehouse", "comments_per_author"])]
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey(["warehouse", "comments"])}
    schema = spec.metadata["dagster/column_schema"]
    assert [(c.name, c.description) for c in schema.columns][1] == ("comments", "Comments by the author.")
    # The share copy: the author pseudonymised, the sample masked, the count kept.
    out = tmp_path / "share.duckdb"
    privacy.write_shareable_copy(target, out, SECRET, catalog=catalog)
    with duckdb.connect(str(out), read_only=True) as con:
        shared = con.execute("SELECT author, comments FROM comments_per_author").fetchall()
    assert shared and all(a.startswith("person-") for a, _ in shared)
    assert not authors & {a for a, _ in shared}


def test_readme_column_tables_are_the_declared_ones():
    from fms_pipeline.warehouse import contract

    readme = (Path(tables.__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(contract.README_START), readme.index(contract.README_END)
    assert readme[start:end + len(contract.README_END)] == contract.readme_tables(), textwrap.dedent("""
        README's tables differ from the declarations: run `python -m fms_pipeline.warehouse.contract`""")


def test_a_warehouse_build_and_the_share_copy_import_no_spacy(staged: Path, tmp_path: Path):
    """The warehouse's reference data (drug classes, ICD-10-CM descriptions) and the share copy's
    name lists come from plain modules: building and sharing never pay spaCy's import."""
    import subprocess
    import sys

    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from fms_pipeline import privacy, warehouse
        warehouse.build_warehouse(Path({str(staged)!r}), Path({str(tmp_path / 'w.duckdb')!r}), incremental=False)
        privacy.write_shareable_copy(Path({str(tmp_path / 'w.duckdb')!r}), Path({str(tmp_path / 's.duckdb')!r}),
                                     {SECRET!r})
        import duckdb
        with duckdb.connect({str(tmp_path / 'w.duckdb')!r}, read_only=True) as con:
            events = con.execute("SELECT count(*) FROM drug_events").fetchone()[0]
        heavy = sorted(m for m in ("spacy", "thinc", "sklearn", "scipy") if m in sys.modules)
        print("imported:", heavy, "drug events:", events)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # The drug-event statistics need scipy and vigipy (which imports scikit-learn), and only when
    # there are drug events to score; spaCy never.
    heavy, events = done.stdout.strip().removeprefix("imported: ").split(" drug events: ")
    assert heavy == ("['scipy', 'sklearn']" if int(events) else "[]"), done.stdout
