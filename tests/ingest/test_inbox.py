"""No delivery can break the intake: whatever a sender puts in the inbox gets an outcome the operator sees
(loaded, duplicate, refused with a reason, waiting, skipped), one entry never stops the others, and what is
archived is exactly what was hashed and loaded."""

from __future__ import annotations

import builtins
import csv
import hashlib
import io
import os
from pathlib import Path

import pytest
from conftest import enterprise_rows, query, survey_rows, write_csv, write_parquet

from wfm import cli
from wfm.config import Home
from wfm.contract import SURVEY
from wfm.errors import FileRefused, WfmError
from wfm.ingest import formats, ingest_all, ingest_file


def _balanced(home: Home) -> list[tuple]:
    """Every logged file: rows read = accepted + quarantined; and the warehouse holds, per batch, the rows
    accepted (in raw) and quarantined that its log says."""
    logged = query(
        home, "SELECT file_name, file_sha256, rows_read, rows_accepted, rows_quarantined FROM audit.load_log"
    )
    for name, _, read, accepted, quarantined in logged:
        assert read == accepted + quarantined, name
    for sha, accepted, quarantined in query(
        home, "SELECT file_sha256, sum(rows_accepted), sum(rows_quarantined) FROM audit.load_log GROUP BY 1"
    ):
        stored = query(
            home,
            "SELECT (SELECT count(*) FROM raw.survey_responses WHERE batch_id = $1) + "
            "(SELECT count(*) FROM raw.enterprise_returns WHERE batch_id = $1)",
            [sha],
        )[0][0]
        held = query(home, "SELECT count(*) FROM audit.quarantine WHERE file_sha256 = ?", [sha])[0][0]
        assert (stored, held) == (accepted, quarantined), sha
    return logged


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _header_only(path: Path) -> Path:
    path.write_text(",".join(c.name for c in SURVEY) + "\n", encoding="utf-8")
    return path


# --- a name is a name --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "way"),
    [("survey_*.csv", "a run"), ("survey_*.csv", "file by file"), ("survey_?.parquet", "a run")],
)
def test_a_file_name_is_read_as_a_name_not_a_pattern(home: Home, pattern: str, way: str) -> None:
    """`survey_*.csv` beside `survey_b.csv`: each file is its own batch of its own rows."""
    writer = write_parquet if pattern.endswith(".parquet") else write_csv
    inbox = home.inbox("survey")
    starred = writer(inbox / pattern, survey_rows(6, prefix="A"))
    plain = writer(inbox / pattern.replace("*", "b").replace("?", "b"), survey_rows(8, prefix="B"))
    sent = {starred.name: starred.read_bytes(), plain.name: plain.read_bytes()}
    if way == "file by file":
        outcomes = [ingest_file(home, path, "survey", "t") for path in (starred, plain)]
    else:
        outcomes = ingest_all(home, run_id="t")
    read = {o.file_name: (o.outcome, o.rows_read, o.rows_accepted) for o in outcomes}
    assert read == {starred.name: ("loaded", 6, 6), plain.name: ("loaded", 8, 8)}
    assert query(home, "SELECT count(*), count(DISTINCT batch_id) FROM raw.survey_responses") == [(14, 2)]
    for name, data in sent.items():
        assert (home.archive / "survey" / name).read_bytes() == data
    _balanced(home)


def test_a_home_whose_path_holds_pattern_characters_reads_its_files(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home [1]*").ensure()
    write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    (out,) = ingest_all(home, run_id="t")
    assert (out.outcome, out.rows_read, out.rows_accepted) == ("loaded", 6, 6)


# --- a file is taken once it has settled, and what is archived is what was loaded -------------------------------


def test_a_file_changed_within_the_quiet_period_waits_and_a_named_one_is_taken_at_once(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFM_SETTLE_SECONDS", "3600")
    path = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    lines: list[str] = []
    (out,) = ingest_all(home, run_id="t", echo=lines.append)
    assert out.outcome == "waiting" and "WFM_SETTLE_SECONDS" in out.reason
    assert lines == [f"[1/1] {out.line()}"] and lines[0].split()[1] == "waiting"
    assert path.exists() and not home.warehouse.exists()
    (named,) = ingest_all(home, [("survey", path)], run_id="t")  # named on the command line: complete
    assert (named.outcome, named.rows_accepted) == ("loaded", 6) and not path.exists()
    _balanced(home)


def test_what_is_archived_is_exactly_what_was_hashed_and_loaded(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender appends to the file while it is being loaded: the archive holds the bytes whose SHA-256 is
    logged and whose rows were loaded; the grown file stays in the inbox, to be judged again."""
    rows = survey_rows(7)
    path = write_csv(home.inbox("survey") / "w.csv", rows[:6])
    sent = path.read_bytes()
    real = formats.read_into

    def read_while_the_sender_appends(*args: object, **kwargs: object) -> formats.FileInfo:
        info = real(*args, **kwargs)
        with path.open("a", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerow(rows[6].values())
        return info

    monkeypatch.setattr(formats, "read_into", read_while_the_sender_appends)
    (out,) = ingest_all(home, run_id="t")
    assert (out.outcome, out.rows_read) == ("loaded", 6)
    archived = home.archive / "survey" / "w.csv"
    assert archived.read_bytes() == sent
    assert query(home, "SELECT file_sha256 FROM audit.load_log") == [(_sha(archived),)]
    assert path.read_bytes().startswith(sent) and len(path.read_bytes()) > len(sent)
    assert any("changed after it was taken" in w for w in out.warnings)
    assert not [p for p in (home.root / "intake").rglob("*") if p.is_file()]
    _balanced(home)


# --- refusals are not duplicates ---------------------------------------------------------------------------------


def test_refused_bytes_sent_again_are_judged_again_and_loaded_bytes_stay_duplicates(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = home.inbox("survey")
    broken = write_csv(tmp_path / "no_psu.csv", [{k: v for k, v in r.items() if k != "psu"} for r in survey_rows(6)])
    for name in ("first.csv", "again.csv"):
        inbox.joinpath(name).write_bytes(broken.read_bytes())
        (out,) = ingest_all(home, run_id="t")
        assert out.outcome == "rejected" and out.reason.startswith("missing_column:psu")
    # a refusal made by a rule since corrected: the same bytes, sent again, load; sent a third time, duplicate
    real = formats.read_into
    calls: list[int] = []

    def refused_once(*args: object, **kwargs: object) -> formats.FileInfo:
        calls.append(1)
        if len(calls) == 1:
            raise FileRefused("the row checks failed", file="x", rule="row_rules")
        return real(*args, **kwargs)

    monkeypatch.setattr(formats, "read_into", refused_once)
    good = write_csv(tmp_path / "good.csv", survey_rows(6))
    outcomes = []
    for name in ("w1.csv", "w2.csv", "w3.csv"):
        inbox.joinpath(name).write_bytes(good.read_bytes())
        (out,) = ingest_all(home, run_id="t")
        outcomes.append(out.outcome)
    assert outcomes == ["rejected", "loaded", "duplicate"]
    log = query(home, "SELECT file_name, outcome FROM audit.load_log ORDER BY loaded_at")
    assert [o for _, o in log] == ["rejected", "rejected", "rejected", "loaded", "duplicate"]
    assert (
        (home.rejected / "survey" / "again.csv.reason.txt")
        .read_text(encoding="utf-8")
        .startswith("missing_column:psu\n")
    )
    _balanced(home)


# --- one bad entry never stops the night -------------------------------------------------------------------------


def test_an_os_error_on_one_file_skips_or_refuses_it_and_the_night_goes_on(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be opened (permission), one that vanishes between listing and reading, and a refused
    one whose name leaves no room for `.reason.txt`: every other file of both sources is loaded."""
    inbox = home.inbox("survey")
    locked = write_csv(inbox / "a_locked.csv", survey_rows(6, prefix="L"))
    long_name = "b_" + "长" * 80 + ".csv"  # 246 bytes: the name fits, `<name>.reason.txt` would not
    _header_only(inbox / long_name)
    write_csv(inbox / "c.csv", survey_rows(6, prefix="C"))
    gone = write_csv(inbox / "d_gone.csv", survey_rows(6, prefix="D"))
    write_csv(home.inbox("enterprise") / "e.csv", enterprise_rows(6), source="enterprise")
    real_open, real_io_open = builtins.open, io.open

    def opening(real):  # noqa: ANN001, ANN202
        def fake(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            name = os.fspath(file) if isinstance(file, str | os.PathLike) else ""
            if str(name).endswith("a_locked.csv"):
                raise PermissionError(13, "Permission denied", str(name))
            if str(name).endswith("d_gone.csv") and os.path.exists(name):
                os.unlink(name)
            return real(file, *args, **kwargs)

        return fake

    monkeypatch.setattr(builtins, "open", opening(real_open))
    monkeypatch.setattr(io, "open", opening(real_io_open))
    lines: list[str] = []
    outcomes = {o.file_name: o for o in ingest_all(home, run_id="t", echo=lines.append)}
    monkeypatch.undo()
    assert len(lines) == 5
    assert (outcomes["c.csv"].outcome, outcomes["e.csv"].outcome) == ("loaded", "loaded")
    assert outcomes["a_locked.csv"].outcome == "skipped" and "Permission denied" in outcomes["a_locked.csv"].reason
    assert locked.exists()  # left where it is, taken again next night
    assert outcomes["d_gone.csv"].outcome == "skipped" and "vanished" in outcomes["d_gone.csv"].reason
    assert not gone.exists()
    refused = outcomes[long_name]
    assert refused.outcome == "rejected" and refused.reason.startswith("empty")
    (reason,) = (home.rejected / "survey").glob("*.reason.txt")
    assert len(os.fsencode(reason.name)) <= 255 and reason.name.startswith("b_长")
    assert reason.read_text(encoding="utf-8").startswith("empty\n")
    assert (home.rejected / "survey" / reason.name.removesuffix(".reason.txt")).exists()
    _balanced(home)


def test_a_missing_file_named_on_the_command_line_is_a_usage_error(home: Home, tmp_path: Path) -> None:
    present = write_csv(home.inbox("survey") / "w.csv", survey_rows(6))
    with pytest.raises(WfmError, match="no such file"):
        ingest_all(home, [("survey", present), ("survey", tmp_path / "absent.csv")])
    assert present.exists() and not home.warehouse.exists()


# --- every entry gets an outcome ---------------------------------------------------------------------------------


def test_every_entry_of_the_inbox_gets_an_outcome_the_operator_sees(home: Home) -> None:
    inbox = home.inbox("survey")
    write_csv(inbox / "good.csv", survey_rows(6))
    unsupported = ["a.xls", "b.tsv", "c.csv.gz", "noext", "w.csv "]
    sent = {
        name: write_csv(inbox / name, survey_rows(6, prefix=f"U{i}")).read_bytes() for i, name in enumerate(unsupported)
    }
    hidden = write_csv(inbox / ".hidden.csv", survey_rows(6, prefix="H"))
    lines: list[str] = []
    outcomes = {o.file_name: o for o in ingest_all(home, run_id="t", echo=lines.append)}
    assert len(lines) == 7 and set(outcomes) == {"good.csv", ".hidden.csv", *unsupported}
    assert outcomes["good.csv"].outcome == "loaded"
    assert outcomes[".hidden.csv"].outcome == "waiting" and hidden.exists()
    for name in unsupported:
        assert outcomes[name].outcome == "rejected" and outcomes[name].reason.startswith("unsupported_format")
        assert (home.rejected / "survey" / name).read_bytes() == sent[name]
        assert (
            (home.rejected / "survey" / f"{name}.reason.txt")
            .read_text(encoding="utf-8")
            .startswith("unsupported_format\n")
        )
    assert sorted(os.listdir(inbox)) == [".hidden.csv"]
    logged = _balanced(home)
    assert sorted(name for name, *_ in logged) == sorted(["good.csv", *unsupported])


# --- a link is never followed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["a run", "file by file"])
def test_a_symlink_or_folder_in_the_inbox_is_refused_never_followed(home: Home, tmp_path: Path, way: str) -> None:
    secret = write_csv(tmp_path / "not_for_the_inbox.csv", survey_rows(6))
    sent = secret.read_bytes()
    link = home.inbox("survey") / "link.csv"
    link.symlink_to(secret)
    folder = home.inbox("survey") / "folder.csv"
    folder.mkdir()
    if way == "file by file":
        outcomes = [ingest_file(home, path, "survey", "t") for path in (folder, link)]
    else:
        outcomes = ingest_all(home, run_id="t")
    assert [(o.file_name, o.outcome) for o in outcomes] == [("folder.csv", "rejected"), ("link.csv", "rejected")]
    assert all(o.reason.startswith("not_a_regular_file") for o in outcomes)
    assert secret.read_bytes() == sent
    assert (home.rejected / "survey" / "link.csv").is_symlink() and (home.rejected / "survey" / "folder.csv").is_dir()
    assert not os.listdir(home.inbox("survey"))
    assert not home.warehouse.exists() or query(home, "SELECT count(*) FROM raw.survey_responses") == [(0,)]


# --- the operator's own file stays -------------------------------------------------------------------------------


def test_a_file_named_outside_the_inbox_is_copied_and_stays_where_it_was(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", survey_rows(6))
    sent = path.read_bytes()
    assert cli.main(["--home", str(home.root), "ingest", "--source", "survey", str(path)]) == 0
    assert path.read_bytes() == sent
    assert (home.archive / "survey" / "w.csv").read_bytes() == sent
    assert not os.listdir(home.inbox("survey"))
    assert query(home, "SELECT file_name, outcome FROM audit.load_log") == [("w.csv", "loaded")]
    _balanced(home)


# --- names are shown escaped -------------------------------------------------------------------------------------


def test_names_and_reasons_are_shown_escaped(home: Home, capsys: pytest.CaptureFixture) -> None:
    inbox = home.inbox("survey")
    write_csv(inbox / "ok\x1b]0;owned\x07.csv", survey_rows(6))
    _header_only(inbox / "bad\n\x1b[31mred.csv")
    hostile = "x\x1b[2J"
    columns = ",".join([*(c.name for c in SURVEY), hostile, hostile])
    (inbox / "twice.csv").write_text(columns + "\n" + ",".join(["1"] * (len(SURVEY) + 2)) + "\n", encoding="utf-8")
    assert cli.main(["--home", str(home.root), "ingest"]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert len(printed.splitlines()) == 3
    assert "bad\\n\\x1b[31mred.csv" in printed and "ok\\x1b]0;owned\\x07.csv" in printed
    assert "duplicate_column:x\\x1b[2J" in printed
    logged = dict(query(home, "SELECT file_name, reason FROM audit.load_log"))
    assert all(
        "\x1b" not in name + (reason or "") and "\n" not in name + (reason or "") for name, reason in logged.items()
    )
    for reason in (home.rejected / "survey").glob("*.reason.txt"):
        assert "\x1b" not in reason.read_text(encoding="utf-8")
    assert not [p for p in (home.root / "inbox").rglob("*") if p.is_file()]
    _balanced(home)
