"""Generated datasets are cached once per machine and linked from every project that asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import small_config
from gaitgen.runtime.atomic import folder_lock
from gaitgen.runtime.distributed import DistContext
from gaitgen.runtime.engine.run import ensure_synthetic_data, load_run
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.synth.cache import cache_entry, cache_root, fill_entry
from gaitgen.runtime.synth.writer import SynthGait
from gaitgen.runtime.tiny_data import Tiny

TINY = "{generator: tiny, subjects: 6, frames: 12}"


def _project_config(folder: Path, synthetic: str = TINY) -> Path:
    """A config in ``folder`` whose dataset is generated into ``folder/data/tiny``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = small_config(Path("data/tiny"), Path("data/tiny/partition.json"))
    text = text.replace("  num_workers: 0\n", f"  num_workers: 0\n  synthetic: {synthetic}\n")
    path = folder / "small.yaml"
    path.write_text(text)
    return path


def _ensure(config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(config.parent)
    run = load_run(config)
    ensure_synthetic_data(run, DistContext())
    return Path(run.cfgs["data_cfg"]["dataset_root"])


def test_two_projects_share_one_generated_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _dataset_cache_in_tmp: Path, caplog
) -> None:
    caplog.set_level("INFO", logger="gaitgen")
    first = _ensure(_project_config(tmp_path / "one"), monkeypatch)
    generated = [r.message for r in caplog.records if "generating" in r.message]
    assert len(generated) == 1 and "once for this machine" in generated[0]
    caplog.clear()
    second = _ensure(_project_config(tmp_path / "two"), monkeypatch)
    assert not [r.message for r in caplog.records if "generating" in r.message]
    assert first.is_symlink() and second.is_symlink()
    entry = first.resolve()
    assert second.resolve() == entry
    assert entry.parent == _dataset_cache_in_tmp / "datasets" / "tiny"
    assert (first / "partition.json").is_file() and (second / "006").is_dir()
    described = json.loads(entry.with_suffix(".json").read_text())
    assert described["settings"] == {"subjects": 6, "frames": 12, "views": None, "seed": 0}


def test_other_settings_make_another_entry_and_workers_do_not(tmp_path: Path) -> None:
    def key(generator) -> Path:
        return cache_entry(generator, "synthgait", tmp_path)

    base = key(SynthGait(subjects=4, frames=8))
    assert key(SynthGait(subjects=4, frames=8, workers=3)) == base
    assert key(SynthGait(subjects=4, frames=8, views="000,090")) == key(
        SynthGait(subjects=4, frames=8, views=["000", "090"])
    )
    for other in (
        SynthGait(subjects=5, frames=8),
        SynthGait(subjects=4, frames=8, seed=1),
        SynthGait(subjects=4, frames=8, layout="ccpg"),
        SynthGait(subjects=4, frames=8, modalities="silhouette,pose"),
    ):
        assert key(other) != base
    assert key(Tiny(subjects=4, frames=8)) != key(Tiny(subjects=4, frames=9))


def test_a_changed_generator_source_makes_a_new_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = Tiny(subjects=3)
    before = cache_entry(generator, "tiny", tmp_path)
    changed = tmp_path / "tiny_data.py"
    changed.write_text("# another version of the generator\n")
    monkeypatch.setattr(Tiny, "source_files", lambda self: [changed])
    assert cache_entry(generator, "tiny", tmp_path) != before


def test_the_cache_folder_is_chosen_by_config_then_env_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAITGEN_CACHE_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root(str(tmp_path / "cfg")) == tmp_path / "cfg"
    assert cache_root(None) == tmp_path / "env"
    assert cache_root(False) is None
    monkeypatch.delenv("GAITGEN_CACHE_DIR")
    assert cache_root(None) == tmp_path / "xdg" / "gaitgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root(None) == tmp_path / "home" / ".cache" / "gaitgen"
    with pytest.raises(ConfigError, match=r"x\.yaml: data_cfg.synthetic.cache_dir must be"):
        cache_root(3, "x.yaml: data_cfg.synthetic")


def test_cache_dir_in_the_config_moves_or_turns_off_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _dataset_cache_in_tmp: Path
) -> None:
    moved = tmp_path / "mine"
    spec = f"{{generator: tiny, subjects: 6, frames: 12, cache_dir: {moved}}}"
    root = _ensure(_project_config(tmp_path / "one", spec), monkeypatch)
    assert root.resolve().parent == moved / "datasets" / "tiny"
    spec = "{generator: tiny, subjects: 6, frames: 12, cache_dir: false}"
    root = _ensure(_project_config(tmp_path / "two", spec), monkeypatch)
    assert root.is_dir() and not root.is_symlink() and (root / "partition.json").is_file()
    assert not (_dataset_cache_in_tmp / "datasets").exists()


def test_a_removed_cache_is_generated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _dataset_cache_in_tmp: Path
) -> None:
    import shutil

    config = _project_config(tmp_path / "one")
    root = _ensure(config, monkeypatch)
    shutil.rmtree(_dataset_cache_in_tmp / "datasets")
    assert not root.exists()  # a dangling link
    root = _ensure(config, monkeypatch)
    assert (root / "partition.json").is_file()


_FILL = """
import sys
from pathlib import Path
from gaitgen.runtime.synth.cache import cache_entry, fill_entry
from gaitgen.runtime.tiny_data import Tiny
generator = Tiny(subjects=6, frames=30)
print(fill_entry(generator, cache_entry(generator, "tiny", Path(sys.argv[1]))))
"""


def test_two_processes_filling_one_entry_at_once_generate_it_once(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    with folder_lock(datasets):  # both start while the cache is busy, then race for it
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _FILL, str(tmp_path)],
                stdout=subprocess.PIPE,
                text=True,
                env=os.environ,
            )
            for _ in range(2)
        ]
        time.sleep(1.0)
    answers = sorted(process.communicate(timeout=120)[0].strip() for process in processes)
    assert answers == ["False", "True"]
    generator = Tiny(subjects=6, frames=30)
    entry = cache_entry(generator, "tiny", tmp_path)
    assert sorted(p.name for p in entry.iterdir())[:2] == ["001", "002"]
    assert not [p for p in (datasets / "tiny").iterdir() if p.name.startswith(".")]
    assert fill_entry(generator, entry) is False
