"""The service in-process: a broken model never stops the filing."""

from __future__ import annotations

import os
import time

import pytest

from photosieve.config import Config
from photosieve.daemon.service import Service
from photosieve.model import contract
from photosieve.model import store as modelstore


def broken_model(config: Config, version: str) -> None:
    folder = config.models_dir / version
    folder.mkdir(parents=True)
    modelstore.write_meta(folder, {"version": version, "input_size": 48, "threshold": 0.5})
    (folder / "model.tflite").write_bytes(b"not a flatbuffer")
    modelstore.set_current(config.models_dir, version)


def test_a_broken_model_at_start_keeps_every_photo(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    broken_model(config, "20260101-000000")
    service = Service(config)
    try:
        service.start()
        assert isinstance(service.classifier, contract.KeepAll)
        assert "model not loaded" in caplog.text
        assert service.watcher is not None and service.watcher.watching
    finally:
        service.shutdown()


def test_a_broken_new_version_keeps_the_current_model(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(config)
    try:
        service.start()
        working = contract.KeepAll(version="working")
        service.classifier = working
        broken_model(config, "20260101-000001")
        assert service.models.changed()
        service.swap_model()
        assert service.classifier is working
        assert "new model not loaded" in caplog.text
    finally:
        service.shutdown()


def test_no_model_folder_means_keep_all(config: Config) -> None:
    service = Service(config)
    try:
        service.start()
        assert service.classifier.version is None
    finally:
        service.shutdown()


def test_settling_files_are_looked_at_often_only_while_few(config: Config) -> None:
    from photosieve.daemon import pipeline
    from photosieve.daemon import service as service_module

    service = Service(config)
    try:
        inbox = config.inboxes[0]
        assert service.tick() == service_module.TICK_SECONDS  # idle: the slow tick
        service.gate.offer(inbox / "a.jpg", inbox)
        assert service.tick() == service_module.SETTLING_TICK
        for i in range(pipeline.run_limit(config)):
            service.gate.offer(inbox / f"{i}.jpg", inbox)
        assert service.tick() == service_module.TICK_SECONDS  # many: each look stats them all
    finally:
        service.shutdown()


def test_the_loop_wakes_when_a_settle_time_ends_not_at_the_next_tick(config: Config) -> None:
    from photosieve.daemon import service as service_module

    service = Service(config)
    try:
        inbox = config.inboxes[0]
        photo = inbox / "a.jpg"
        photo.write_bytes(b"a")
        service.gate.settle_seconds = 1.0
        old = time.time() - 0.97  # its settle time ends in 0.03 s
        os.utime(photo, (old, old))
        service.gate.offer(photo, inbox)
        assert service.gate.due() == []
        assert 0 < service.tick() <= 0.03 < service_module.SETTLING_TICK
        os.utime(photo, (old - 10, old - 10))  # changed: its clock restarts now
        assert service.gate.due() == []
        assert service.tick() == service_module.SETTLING_TICK  # due in 1 s: the tick is sooner
    finally:
        service.shutdown()
