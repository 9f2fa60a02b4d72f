"""The generator of the measured blocks (tools/readme.py) writes each block to its own file, keeps
a block it could not compute, and writes no machine's absolute path into the file."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, need_sample
from tools import readme


def machine_paths(tmp_path: Path) -> list[str]:
    return [str(p) for p in (tmp_path, REPO, REPO.parent, Path.home()) if len(p.parts) > 1]


def test_real_data_blocks_are_kept_when_the_data_folder_is_absent(tmp_path, capsys):
    need_sample()
    assert readme.block_file("accuracy") == readme.block_file("real-books") == REPO / "docs" / "real-data-studies.md"
    copy = tmp_path / "real-data-studies.md"
    original = readme.block_file("accuracy").read_text()
    copy.write_text(original)
    absent = tmp_path / "no-shared"
    assert readme.main(["accuracy", "real-books", "--shared", str(absent), "--file", str(copy)]) == 0
    text = copy.read_text()
    assert text == original
    for block in ("accuracy", "real-books"):  # what is there today stays, not a skip note
        body = text.split(f"<!-- {block}:start -->")[1].split(f"<!-- {block}:end -->")[0]
        assert body.count("\n| ") > 10 and "skipped" not in body
    assert not [p for p in machine_paths(tmp_path) if p in text]
    err = capsys.readouterr().err
    assert "real-data-studies.md: kept the accuracy block" in err
    assert "real-data-studies.md: kept the real-books block" in err
    assert "realdata/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip not found" in err
    assert str(absent) in err  # where it looked, on the terminal only


def test_a_block_it_can_compute_is_written_and_the_others_kept(tmp_path, capsys):
    copy = tmp_path / "notes.md"
    copy.write_text("# Notes\n<!-- strategies:start -->\nold rules\n<!-- strategies:end -->\n\n"
                    "<!-- real-books:start -->\nold table\n<!-- real-books:end -->\ntail\n")
    assert readme.main(["strategies", "real-books", "--shared", str(tmp_path / "none"), "--file", str(copy)]) == 0
    text = copy.read_text()
    rules = text.split("<!-- strategies:start -->\n")[1].split("<!-- strategies:end -->")[0]
    assert rules.startswith("**`cvd_trend`**") and "old rules" not in rules
    assert "<!-- real-books:start -->\nold table\n<!-- real-books:end -->\ntail\n" in text
    assert "notes.md: regenerated strategies" in capsys.readouterr().err


def test_a_block_that_names_a_path_of_this_machine_is_kept(tmp_path):
    shared = tmp_path / "shared"
    text = "<!-- a:start -->\nold a\n<!-- a:end -->\n<!-- b:start -->\nold b\n<!-- b:end -->\n"
    blocks = {"a": lambda _: f"wrote {REPO}/results/report.png", "b": lambda _: f"read {shared}/realdata/x.csv"}
    out, kept = readme.regenerate(text, ["a", "b"], shared, blocks)
    assert out == text
    assert kept == {"a": f"it names {REPO}, a path of this machine",
                    "b": f"it names {shared}, a path of this machine"}


@pytest.mark.parametrize("study", ["accuracy", "real_books"])
def test_the_studies_notes_name_no_absolute_path(tmp_path, study):
    from tools import accuracy, real_books

    absent = tmp_path / "no-shared"
    if study == "accuracy":
        _, notes = accuracy.load_samples(absent, repo=tmp_path)
        text = "\n".join(notes)
        assert "synthetic sample: data/sample/sample_ticks.parquet not found" in notes
    else:
        text = real_books.report(absent)
    assert "LOBSTER GOOG: realdata/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip not found" in text
    assert str(tmp_path) not in text


def test_without_file_each_block_goes_to_its_own_file(tmp_path, monkeypatch, capsys):
    # a repository of two files: the strategies block lives in docs/strategies.md, not in the README
    (tmp_path / "docs").mkdir()
    readme_text = "# Title\n<!-- make-run:start -->\nold run\n<!-- make-run:end -->\n"
    (tmp_path / "README.md").write_text(readme_text)
    (tmp_path / "docs" / "strategies.md").write_text("# S\n<!-- strategies:start -->\nold\n<!-- strategies:end -->\n")
    monkeypatch.setattr(readme, "REPO", tmp_path)
    assert readme.main(["strategies", "--shared", str(tmp_path / "none")]) == 0
    rules = (tmp_path / "docs" / "strategies.md").read_text().split("<!-- strategies:start -->\n")[1]
    assert rules.startswith("**`cvd_trend`**") and "\nold\n" not in rules
    assert (tmp_path / "README.md").read_text() == readme_text
    assert "docs/strategies.md: regenerated strategies" in capsys.readouterr().err


def test_a_block_missing_from_its_file_is_an_error_before_any_work(tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "strategies.md").write_text("# no markers\n")
    monkeypatch.setattr(readme, "REPO", tmp_path)
    assert readme.main(["strategies"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {tmp_path / 'docs' / 'strategies.md'} has no "
                   "<!-- strategies:start --> ... <!-- strategies:end --> block\n")
    assert (tmp_path / "docs" / "strategies.md").read_text() == "# no markers\n"
