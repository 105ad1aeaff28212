"""The real `photosieve watch` with a trained model: discards to the quarantine, keepers to the
library, a new model version picked up while it runs, and no TensorFlow in a CPU-only service.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from photosieve.model import store as modelstore

pytestmark = [pytest.mark.tf, pytest.mark.slow]

Cli = Callable[..., Result]


@pytest.fixture(scope="module")
def trained_state(
    tmp_path_factory: pytest.TempPathFactory,
    write_config: Callable[..., Path],
    two_classes: Callable[..., list[Path]],
    cli: Cli,
    train_tiny: Cli,
) -> Iterator[Path]:
    """A state folder holding a tiny model trained on sharp scenes vs pocket shots (trained
    once for the module; each test runs on its own copy)."""
    root = tmp_path_factory.mktemp("watch-model")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(root / "home"))  # Keras may write ~/.keras on import
        config = write_config(root / "photosieve.yaml")
        two_classes(root / "sorted", 25, seed=5)
        cli(config, "label", "import", str(root / "sorted"))
        train_tiny(config)
        yield root / "state"


@pytest.fixture
def trained(trained_state: Path, tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    """This test's config, its state a copy of the trained one (the `current` link is
    relative), its inbox, library and quarantine its own."""
    shutil.copytree(trained_state, tmp_path / "state", symlinks=True)
    return write_config(tmp_path / "photosieve.yaml", "watch: {settle_seconds: 0.5}\n")


def test_watch_routes_by_model_and_picks_up_a_new_version(
    trained: Path,
    tmp_path: Path,
    two_classes: Callable[..., list[Path]],
    cli: Cli,
    wait_until: Callable[[Callable[[], bool], float, str, Path], None],
) -> None:
    inbox, library, quarantine = (tmp_path / n for n in ("inbox", "library", "quarantine"))
    models = tmp_path / "state" / "models"
    first = modelstore.current_version(models)
    # A second version of the same model, not yet current: installing it must be noticed.
    second = f"{first}-2"
    shutil.copytree(models / first, models / second)
    meta = modelstore.read_meta(models / second)
    modelstore.write_meta(models / second, {**meta, "version": second})
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "photosieve", "--config", str(trained), "watch"],
            stdout=out,
            stderr=out,
        )
    try:
        wait_until(lambda: "watching" in log.read_text(), 60, "start", log)
        two_classes(tmp_path / "new", 4, seed=77, name="NEW_{i:02d}.jpg")
        for path in sorted((tmp_path / "new").rglob("*.jpg")):
            shutil.copy(path, inbox / f"{path.parent.name}-{path.name}")
        wait_until(lambda: not any(inbox.iterdir()), 60, "the inbox to empty", log)
        kept = sorted(p.name for p in library.rglob("*.jpg"))
        quarantined = sorted(p.name for p in quarantine.glob("*.jpg"))
        assert len(kept) == 4 and all("keep_it" in name for name in kept), kept
        assert len(quarantined) == 4 and all("dont_keep_it" in n for n in quarantined)
        cli(trained, "models", "use", second)
        wait_until(lambda: f"model: {second}" in log.read_text(), 30, "the new model", log)
        assert proc.poll() is None  # picked up without a restart
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_cpu_only_watch_never_imports_tensorflow(
    trained: Path, tmp_path: Path, two_classes: Callable[..., list[Path]]
) -> None:
    """Runs the service in a child that reports its own sys.modules after a clean stop."""
    two_classes(tmp_path / "new", 2, seed=78, name="CPU_{i:02d}.jpg")
    inbox = tmp_path / "inbox"
    for path in sorted((tmp_path / "new").rglob("*.jpg")):
        shutil.copy(path, inbox / f"{path.parent.name}-{path.name}")
    script = textwrap.dedent(f"""
        import os, signal, sys, threading, time
        from pathlib import Path
        from photosieve.cli import main

        def stop_when_done():
            inbox = Path({str(inbox)!r})
            deadline = time.monotonic() + 60
            while any(inbox.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=stop_when_done, daemon=True).start()
        code = main(["--config", {str(trained)!r}, "watch"])
        heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print("heavy modules:", heavy, "inbox empty:", not any(Path({str(inbox)!r}).iterdir()))
        sys.exit(code)
    """)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "heavy modules: [] inbox empty: True" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "litert runtime" in done.stderr or "model:" in done.stderr
