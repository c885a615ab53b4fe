"""Safe loading of sequence files: arrays only, nothing executed, clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from gaitgen.runtime.data.io import check_same_length, load_sequence_file
from gaitgen.runtime.errors import DataError


class _Exploit:
    """Unpickling this with the standard pickle module writes a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _dump(path, value, protocol=4):
    with open(path, "wb") as file:
        pickle.dump(value, file, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickled_arrays_load_with_every_protocol(tmp_path, protocol):
    array = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    loaded = load_sequence_file(_dump(tmp_path / "a.pkl", array, protocol))
    assert loaded.dtype == np.uint8 and np.array_equal(loaded, array)


def test_npy_and_npz_load(tmp_path):
    array = np.ones((2, 8, 8), dtype=np.float32)
    np.save(tmp_path / "a.npy", array)
    np.savez(tmp_path / "b.npz", array)
    assert np.array_equal(load_sequence_file(tmp_path / "a.npy"), array)
    assert np.array_equal(load_sequence_file(tmp_path / "a.npy", mmap=True), array)
    assert np.array_equal(load_sequence_file(tmp_path / "b.npz"), array)


def test_list_of_equal_frames_is_stacked(tmp_path):
    frames = [np.full((4, 4), i, dtype=np.uint8) for i in range(3)]
    loaded = load_sequence_file(_dump(tmp_path / "a.pkl", frames))
    assert loaded.shape == (3, 4, 4) and loaded[2, 0, 0] == 2


@pytest.mark.parametrize("nested", [False, True])
def test_malicious_pickle_runs_nothing(tmp_path, nested):
    marker = tmp_path / "marker.txt"
    payload = _Exploit(str(marker))
    value = [np.zeros((2, 4, 4), np.uint8), payload] if nested else payload
    path = _dump(tmp_path / "evil.pkl", value)
    # the file really is dangerous: the standard unpickler runs the code
    with open(path, "rb") as file:
        pickle.load(file)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(DataError) as info:
        load_sequence_file(path)
    assert not marker.exists()
    assert "evil.pkl" in str(info.value) and "builtins.exec" in str(info.value)


def test_protocol0_global_is_refused(tmp_path):
    path = tmp_path / "os.pkl"
    path.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(DataError, match="os.system"):
        load_sequence_file(path)


def test_torch_tensor_pickle_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = _dump(tmp_path / "t.pkl", torch.zeros(2, 3, 3))
    with pytest.raises(DataError, match="refused to unpickle"):
        load_sequence_file(path)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"frames": np.zeros((2, 3, 3))}, "holds a dict, not an array"),
        (np.zeros(5, np.uint8), "1 dimension"),
        (np.zeros((0, 4, 4), np.uint8), "empty"),
        (np.array([["a", "b"]]), "not numeric"),
        ([np.zeros((2, 2)), np.zeros((3, 3))], "different shapes"),
    ],
)
def test_bad_content_names_file_and_problem(tmp_path, value, message):
    path = _dump(tmp_path / "bad.pkl", value)
    with pytest.raises(DataError, match=message) as info:
        load_sequence_file(path)
    assert str(path) in str(info.value)


def test_object_array_npy_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="o.npy"):
        load_sequence_file(tmp_path / "o.npy")


def test_corrupt_and_unsupported_files(tmp_path):
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps(np.zeros((3, 4, 4)))[:40])
    with pytest.raises(DataError, match="not a readable pickle"):
        load_sequence_file(tmp_path / "cut.pkl")
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(DataError, match="unsupported sequence file type"):
        load_sequence_file(tmp_path / "a.png")
    with pytest.raises(DataError, match="cannot read"):
        load_sequence_file(tmp_path / "missing.pkl")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(DataError, match="exactly one array"):
        load_sequence_file(tmp_path / "two.npz")


def test_modalities_with_different_frame_counts(tmp_path):
    arrays = [np.zeros((3, 2, 2)), np.zeros((4, 2, 2))]
    with pytest.raises(DataError, match="different frame counts") as info:
        check_same_length(arrays, [tmp_path / "a.pkl", tmp_path / "b.pkl"])
    assert "a.pkl: 3" in str(info.value) and "b.pkl: 4" in str(info.value)
