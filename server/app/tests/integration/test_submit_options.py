"""Analysis options, tag and file name through the real app (contract "Analysis
options"): stored with the job, echoed in status and list, refused with a 400 naming the
field before anything is stored; pipelines list the labels they can emit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.tests.helpers import app_state

pytestmark = pytest.mark.integration
DEFAULTS = {
    "sample_fps": None,
    "start_s": None,
    "end_s": None,
    "min_confidence": None,
    "labels": None,
    "annotate": False,
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def clip(clip_path: Path) -> bytes:
    return clip_path.read_bytes()


def submit(client: TestClient, video: bytes, name: str = "clip.mp4", **kwargs):
    return client.post("/video/submit", files={"file": (name, video, "video/mp4")}, **kwargs)


def assert_nothing_stored(client: TestClient, settings: Settings) -> None:
    folder = settings.storage_dir
    assert not folder.exists() or not [p for p in folder.iterdir() if p.suffix == ".mp4"]
    assert app_state(client).jobs.count_jobs() == 0
    assert app_state(client).queue.size() == 0


def test_form_options_are_stored_and_echoed_in_status_and_list(client, clip):
    fields = {
        "pipeline_id": "people",
        "sample_fps": "2",
        "start_s": "0.5",
        "end_s": "10",
        "min_confidence": "0.3",
        "labels": "person",
        "annotate": "true",
        "tag": "  front door  ",
    }
    response = submit(client, clip, "/home/ann/My Videos/front door.mp4", data=fields)
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    status = client.get(f"/video/status/{job_id}").json()
    assert status["options"] == {
        "sample_fps": 2.0,
        "start_s": 0.5,
        "end_s": 10.0,
        "min_confidence": 0.3,
        "labels": ["person"],
        "annotate": True,
    }
    assert (status["tag"], status["filename"]) == ("front door", "front door.mp4")
    listed = client.get("/video/jobs", params={"tag": "front door"}).json()
    assert [job["job_id"] for job in listed["jobs"]] == [job_id] and listed["total"] == 1
    assert listed["jobs"][0] == status


def test_options_may_come_as_query_parameters_like_pipeline_id(client, clip):
    response = submit(client, clip, params={"sample_fps": "1", "tag": "q", "annotate": "1"})
    assert response.status_code == 200, response.text
    status = client.get(f"/video/status/{response.json()['job_id']}").json()
    assert status["options"] == {**DEFAULTS, "sample_fps": 1.0, "annotate": True}
    assert status["tag"] == "q"


def test_a_submit_without_options_echoes_the_defaults(client, clip):
    job_id = submit(client, clip, data={"sample_fps": "", "labels": ""}).json()["job_id"]
    status = client.get(f"/video/status/{job_id}").json()
    assert status["options"] == DEFAULTS
    assert (status["tag"], status["filename"]) == (None, "clip.mp4")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"sample_fps": "0"}, ["sample_fps", "> 0"]),
        ({"sample_fps": "ten"}, ["sample_fps", "number"]),
        ({"start_s": "5", "end_s": "5"}, ["end_s", "greater than start_s"]),
        ({"start_s": "-1"}, ["start_s"]),
        ({"min_confidence": "2"}, ["min_confidence", "between 0 and 1"]),
        ({"annotate": "sure"}, ["annotate", "true or false"]),
        ({"tag": "t" * 257}, ["tag", "at most 256"]),
        ({"pipeline_id": "people", "labels": "person,dgo"}, ["'dgo'", "it can emit: person"]),
        ({"pipeline_id": "objects", "labels": "motorbike"}, ["'motorbike'", "motorcycle"]),
    ],
)
def test_a_bad_option_is_a_400_naming_it_and_nothing_is_stored(
    client, settings, clip, fields, words
):
    response = submit(client, clip, data=fields)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail
    assert_nothing_stored(client, settings)


def test_form_and_query_values_that_disagree_are_a_400(client, settings, clip):
    response = submit(client, clip, data={"tag": "a"}, params={"tag": "b"})
    assert response.status_code == 400
    assert "tag given twice" in response.json()["detail"]
    assert_nothing_stored(client, settings)


def test_labels_of_a_pipeline_that_declares_none_are_accepted(client, clip):
    response = submit(client, clip, data={"pipeline_id": "quality", "labels": "anything"})
    assert response.status_code == 200, response.text


def test_the_file_name_is_never_used_on_disk(client, settings, clip):
    response = submit(client, clip, "../../escape.mp4")
    assert response.status_code == 200
    job_id = response.json()["job_id"]
    assert client.get(f"/video/status/{job_id}").json()["filename"] == "escape.mp4"
    stored = sorted(p.name for p in settings.storage_dir.iterdir())
    assert f"{uuid.UUID(job_id)}.mp4" in stored and "escape.mp4" not in stored
    assert not (settings.data_dir.parent / "escape.mp4").exists()


def test_pipelines_list_the_labels_they_can_emit(client):
    pipelines = {p["id"]: p for p in client.get("/video/pipelines").json()}
    assert pipelines["people"]["labels"] == ["person"]
    assert pipelines["motion"]["labels"] == ["motion"]
    assert {"person", "dog", "motorcycle", "tv"} <= set(pipelines["objects"]["labels"])
    assert pipelines["quality"]["labels"] == []
    assert all(set(p) == {"id", "description", "labels", "default"} for p in pipelines.values())


def test_the_options_are_documented_in_the_openapi_schema(client):
    operation = client.get("/openapi.json").json()["paths"]["/video/submit"]["post"]
    query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"sample_fps", "start_s", "end_s", "min_confidence", "labels", "annotate"} <= query
    assert "tag" in query and "pipeline_id" in query


def test_results_whole_and_paged_echo_options_tag_and_file_name(client, clip):
    from app.workers.worker import Worker

    fields = {"pipeline_id": "motion", "sample_fps": "5", "tag": "yard"}
    job_id = submit(client, clip, "yard.mp4", data=fields).json()["job_id"]
    state = app_state(client)
    worker = Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)
    assert worker.run_once(wait=10)
    expected = {**DEFAULTS, "sample_fps": 5.0}
    for params in ({}, {"limit": 2}):
        document = client.get(f"/video/results/{job_id}", params=params).json()
        assert document["options"] == expected, params
        assert (document["filename"], document["tag"]) == ("yard.mp4", "yard"), params
    whole = client.get(f"/video/results/{job_id}").json()
    assert len(whole["results"]) == 6  # 30 frames at 25 fps, at most 5 a second
