"""`video-jobs search` against the real app (TestClient as its HTTP client)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.cli.main import main
from app.settings import Settings
from app.tests.integration.test_search_api import add_indexed

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def cli(client: TestClient, *args: str) -> int:
    return main(["--url", "http://testserver", *args], http=client)


def test_search_prints_each_job_with_its_matches_and_times(client, capsys):
    older, newer = add_indexed(client, 1, tag="yard"), add_indexed(client, 2)
    assert cli(client, "search", "--label", "dog") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["JOB", "ID", "NAME", "TAG", "MATCHES"]
    assert lines[1].startswith(newer) and lines[2].startswith(older)
    assert "clip-1.mp4  yard  dog #3 0:00.500-0:02.500" in lines[2]
    assert "jobs 1-2 of 2" in err


def test_search_json_and_paging_follow_the_api(client, capsys):
    ids = [add_indexed(client, minute) for minute in range(3)][::-1]
    assert cli(client, "search", "--text", "EXIT", "--limit", "1", "--offset", "1", "--json") == 0
    page = json.loads(capsys.readouterr().out)
    assert page["total"] == 3 and [item["job_id"] for item in page["items"]] == [ids[1]]


def test_search_without_a_filter_prints_the_api_detail(client, capsys):
    assert cli(client, "search") != 0
    assert "at least one of label, text, tag or min_individuals" in capsys.readouterr().err


def test_no_match_says_so(client, capsys):
    assert cli(client, "search", "--tag", "nothing") == 0
    assert "no completed job matches" in capsys.readouterr().err
