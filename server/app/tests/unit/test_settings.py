"""Settings: the contract's defaults, the VIDEO_JOBS_ prefix, .env, and the queue key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import QueueKeyError, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VIDEO_JOBS_ variable or .env from the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.upper().startswith("VIDEO_JOBS_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


@pytest.mark.unit
def test_defaults_match_the_contract(clean_environment: Path) -> None:
    settings = Settings()
    data_dir = clean_environment.resolve() / "data"
    assert settings.data_dir == data_dir and settings.data_dir.is_absolute()
    assert settings.database_url == f"sqlite:///{data_dir / 'jobs.db'}"
    assert (settings.queue_host, settings.queue_port) == ("127.0.0.1", 50051)
    assert settings.max_upload_bytes == 2147483648
    assert settings.default_pipeline == "motion"
    assert settings.api_key is None
    assert settings.pipelines_dir is None
    assert settings.storage_dir == data_dir / "video_jobs"


@pytest.mark.unit
def test_variables_with_the_prefix_override_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "VIDEO_JOBS_DATA_DIR": str(tmp_path / "elsewhere"),
        "VIDEO_JOBS_DATABASE_URL": "postgresql://db.example/jobs",
        "VIDEO_JOBS_QUEUE_HOST": "10.0.0.5",
        "VIDEO_JOBS_QUEUE_PORT": "6000",
        "VIDEO_JOBS_API_KEY": "s3cret",
        "VIDEO_JOBS_MAX_UPLOAD_BYTES": "1024",
        "VIDEO_JOBS_DEFAULT_PIPELINE": "quality",
        "VIDEO_JOBS_PIPELINES_DIR": str(tmp_path / "pipelines"),
        "MAX_UPLOAD_BYTES": "1",  # no prefix: must be ignored
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.database_url == "postgresql://db.example/jobs"
    assert (settings.queue_host, settings.queue_port) == ("10.0.0.5", 6000)
    assert settings.api_key == "s3cret"
    assert settings.max_upload_bytes == 1024
    assert settings.default_pipeline == "quality"
    assert settings.pipelines_dir == tmp_path / "pipelines"


@pytest.mark.unit
def test_the_database_url_follows_a_configured_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'jobs.db'}"


@pytest.mark.unit
def test_a_relative_data_dir_is_resolved_against_the_working_directory(
    clean_environment: Path,
) -> None:
    assert Settings(data_dir=Path("store/../x")).data_dir == clean_environment.resolve() / "x"


@pytest.mark.unit
def test_a_blank_api_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEO_JOBS_API_KEY", "")
    assert Settings().api_key is None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "value"),
    [("VIDEO_JOBS_QUEUE_PORT", "70000"), ("VIDEO_JOBS_MAX_UPLOAD_BYTES", "0")],
)
def test_impossible_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.integration
def test_settings_are_also_read_from_a_dot_env_file(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "VIDEO_JOBS_DEFAULT_PIPELINE=quality\nVIDEO_JOBS_MAX_UPLOAD_BYTES=4096\n"
    )
    settings = Settings()
    assert (settings.default_pipeline, settings.max_upload_bytes) == ("quality", 4096)


@pytest.mark.integration
def test_the_queue_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "queue.key"
    key = Settings(data_dir=tmp_path / "data").resolve_authkey()
    assert len(key) >= 32
    assert key_file.read_bytes().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "data").resolve_authkey() == key
    assert [p.name for p in key_file.parent.iterdir()] == ["queue.key"]  # no temp file left


@pytest.mark.integration
def test_each_data_dir_gets_its_own_random_key(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a").resolve_authkey()
    second = Settings(data_dir=tmp_path / "b").resolve_authkey()
    assert first != second


@pytest.mark.integration
def test_an_explicit_queue_authkey_wins_and_writes_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "queue.key").write_bytes(b"the-file-key")
    from_env = "from-the-environment-and-long-enough-to-be-a-key"
    monkeypatch.setenv("VIDEO_JOBS_QUEUE_AUTHKEY", from_env)
    assert Settings(data_dir=tmp_path).resolve_authkey() == from_env.encode()
    empty = tmp_path / "empty"
    assert Settings(data_dir=empty).resolve_authkey() == from_env.encode()
    assert not (empty / "queue.key").exists()


@pytest.mark.integration
@pytest.mark.parametrize("content", [b"", b"\n", b"x" * 31])
def test_an_empty_or_short_key_file_is_refused_and_logged(tmp_path, caplog, content) -> None:
    key_file = tmp_path / "queue.key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    with pytest.raises(QueueKeyError, match="at least 32 are needed") as refused:
        Settings(data_dir=tmp_path).resolve_authkey()
    assert str(key_file) in str(refused.value)
    assert str(refused.value) in caplog.text


@pytest.mark.integration
def test_a_short_key_in_the_environment_is_refused(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VIDEO_JOBS_QUEUE_AUTHKEY", "short")
    with pytest.raises(QueueKeyError, match="VIDEO_JOBS_QUEUE_AUTHKEY is 5 bytes"):
        Settings(data_dir=tmp_path).resolve_authkey()


@pytest.mark.integration
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode) -> None:
    key_file = tmp_path / "queue.key"
    key_file.write_bytes(b"k" * 64)
    key_file.chmod(mode)
    with pytest.raises(QueueKeyError, match=f"mode {mode:04o}.*chmod 600"):
        Settings(data_dir=tmp_path).resolve_authkey()
    key_file.chmod(0o600)
    assert Settings(data_dir=tmp_path).resolve_authkey() == b"k" * 64
