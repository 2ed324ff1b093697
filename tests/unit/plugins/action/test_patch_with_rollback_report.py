"""The report's writer: whole or not at all, and never raising."""

import os

from ansible_collections.vpsorg.cloud.plugins.action.patch_with_rollback_report import page_beside, write_file


def test_a_report_is_written_whole_readable_by_all(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("the last run's report")
    assert write_file(str(path), '{"hosts": {}}\n') is None
    assert path.read_text() == '{"hosts": {}}\n'
    assert oct(os.stat(str(path)).st_mode & 0o777) == oct(0o644)
    assert os.listdir(str(tmp_path)) == ["report.json"]  # no file left half-written beside it


def test_a_folder_that_is_not_there_is_said_not_raised(tmp_path):
    error = write_file(str(tmp_path / "gone" / "report.json"), "{}")
    assert "No such file or directory" in error


def test_a_path_that_is_a_folder_keeps_the_folder_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / "report.json").mkdir()
    error = write_file(str(tmp_path / "report.json"), "{}")
    assert error and "directory" in error.lower()
    assert sorted(os.listdir(str(tmp_path))) == ["report.json"]


def test_the_page_goes_beside_the_report():
    assert page_beside("/r/patch_with_rollback-report.json") == "/r/patch_with_rollback-report.html"
    assert page_beside("/r/report") == "/r/report.html"
    assert page_beside("/r/report.txt") == "/r/report.txt.html"
    assert page_beside("/r/a.json/report.json") == "/r/a.json/report.html"
