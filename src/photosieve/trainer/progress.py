"""The trainer's quiet output: one progress bar per phase, and TensorFlow's own logs silenced.

The owner of a training run needs to see how far each phase is and the few figures that
matter (validation loss; keep-loss and discard catch at the threshold the run would choose
now), not a Keras line per epoch among TensorFlow's C++ log lines. `PhaseBar` is a click
progress bar on stderr over a phase's epochs, fed by a small Keras callback (`callback`);
`quiet_tensorflow` imports TensorFlow with its C++ log lines silenced and lowers absl's and
TensorFlow's Python loggers. Both step aside under `--verbose`, which shows Keras' lines.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

# Kept through callback calls: a phase's bar is made before Keras exists in this process.
_STATUS_WIDTH = 60


@contextmanager
def silenced_stderr(silence: bool = True) -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null inside the block (when `silence`): C++ code
    logging straight to it is silenced; an exception still propagates."""
    if not silence:
        yield
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def quiet_tensorflow(verbose: bool) -> None:
    """Silence TensorFlow's C++ log lines and its Python warnings unless `verbose`.

    TensorFlow 2.21 writes its import-time lines (oneDNN, CUDA probing) through absl before
    absl's logging is set up, where TF_CPP_MIN_LOG_LEVEL does not reach them, so the import
    and the device probe run inside `silenced_stderr` (an import error still raises).
    Threads can still be set afterwards: probing devices starts no runtime."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" in sys.modules:
        return  # already imported: its lines are out
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


class PhaseBar:
    """One progress bar over `length` epoch steps of a phase; its status shows the latest
    validation loss (`loss`) and keep-loss and catch at the current threshold (`figures`).

    With show=False it only keeps the last status (tests and the retrain job read it)."""

    def __init__(self, length: int, label: str, show: bool) -> None:
        self.loss = ""
        self.figures = ""
        self._bar: Any = None
        self._done = 0
        self.length = max(1, length)
        if show:
            import click

            self._bar = click.progressbar(
                length=self.length,
                label=label,
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda _item: self.status[:_STATUS_WIDTH] or None,
            )

    @property
    def status(self) -> str:
        return " ".join(part for part in (self.loss, self.figures) if part)

    def __enter__(self) -> PhaseBar:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            if kind is None:
                self.advance(self.length - self._done)
            self._bar.__exit__(kind, error, trace)

    def advance(
        self,
        steps: int = 1,
        *,
        loss: float | None = None,
        figures: tuple[float, float] | None = None,
    ) -> None:
        """Move `steps` epochs on (never past the end); `loss`: a validation loss, `figures`:
        (keep-loss, catch) at the current threshold."""
        if loss is not None:
            self.loss = f"val loss {loss:.3f}"
        if figures is not None:
            keep_loss, catch = figures
            self.figures = f"keep-loss {100 * keep_loss:.1f} % catch {100 * catch:.0f} %"
        steps = max(0, min(steps, self.length - self._done))
        self._done += steps
        if self._bar is not None:
            self._bar.update(steps, current_item=self.status)
            if steps == 0:  # click draws only on a step; a new status alone must show too
                self._bar.render_progress()

    def skip_to(self, done: int) -> None:
        """Jump to `done` steps (a fit that stopped early gives back its unused epochs)."""
        self.advance(done - self._done)


def callback(bar: PhaseBar) -> Any:
    """A Keras callback advancing `bar` by one per epoch with the epoch's validation loss."""
    import keras

    class _Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            bar.advance(1, loss=(logs or {}).get("val_loss"))

    return _Epochs()
