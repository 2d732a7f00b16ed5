"""Policy packs (versioned YAML) and the engine that turns them into verdicts.

``get_engine(policy_dir)`` is cached per folder and hot-reloads: when a pack file changes, the
next call validates the new packs and swaps the engine. A pack that fails validation never
replaces a working one; the error is logged and the last good version keeps deciding.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from policies.engine import PolicyEngine
from policies.loader import PolicyLoadError, PolicySet, load_policy_set, pack_files

__all__ = ["PolicyEngine", "PolicyLoadError", "PolicySet", "get_engine", "load_policy_set"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engines: dict[Path, tuple[tuple[tuple[str, int, int], ...], PolicyEngine]] = {}


def _fingerprint(policy_dir: Path) -> tuple[tuple[str, int, int], ...]:
    stats = []
    for path in pack_files(policy_dir):
        st = path.stat()
        stats.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(stats)


def get_engine(policy_dir: Path) -> PolicyEngine:
    """The engine for ``policy_dir``; rebuilt when any pack file is added, removed or edited.

    Raises PolicyLoadError only when there is no earlier good version to fall back on.
    """
    key = policy_dir.resolve()
    fingerprint = _fingerprint(key)
    cached = _engines.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        cached = _engines.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        try:
            engine = PolicyEngine(load_policy_set(key))
        except PolicyLoadError:
            if cached is None:
                raise
            log.error("policy reload failed; keeping %s", cached[1].version, exc_info=True)
            _engines[key] = (fingerprint, cached[1])  # do not re-parse the broken files on every call
            return cached[1]
        if cached is not None:
            log.info("policy packs reloaded: %s -> %s", cached[1].version, engine.version)
        _engines[key] = (fingerprint, engine)
        return engine
