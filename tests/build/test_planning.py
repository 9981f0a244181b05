"""How the build plans its work, without running dbt: what makes the next build a full one."""

from __future__ import annotations

from wfm.build.planning import FINGERPRINTED, project_fingerprint


def test_an_edited_singular_test_changes_the_fingerprint(tmp_path, monkeypatch):
    """Incremental builds leave out the tests of seeds alone, so a singular test (dbt_project/tests) edited
    since the last build must make the next build full, like a model."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "assert_something.sql").write_text("select 1 where false\n", encoding="utf-8")
    monkeypatch.setattr(
        "wfm.build.planning.FINGERPRINTED", tuple(tmp_path / p.name if p.name == "tests" else p for p in FINGERPRINTED)
    )
    before = project_fingerprint()
    (tests / "assert_something.sql").write_text("select 1 where 1 = 0\n", encoding="utf-8")
    assert project_fingerprint() != before


def test_documentation_beside_the_code_lists_leaves_the_fingerprint_alone(tmp_path, monkeypatch):
    """Editing a README (or a dbt docs block) computes nothing: the next build stays incremental. Editing a code
    list does not."""
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "README.md").write_text("# Reference code lists\n", encoding="utf-8")
    (reference / "provinces.csv").write_text("code\n11\n", encoding="utf-8")
    monkeypatch.setattr(
        "wfm.build.planning.FINGERPRINTED",
        tuple(reference if p.name == "reference" else p for p in FINGERPRINTED),
    )
    before = project_fingerprint()
    (reference / "README.md").write_text("# Reference code lists, described again\n", encoding="utf-8")
    assert project_fingerprint() == before
    (reference / "provinces.csv").write_text("code\n11\n12\n", encoding="utf-8")
    assert project_fingerprint() != before
