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


def _forged_npy_bytes(frames: int = 10**11) -> bytes:
    """A .npy file whose header declares ``frames`` frames of 64x64 uint8, with 100 data bytes."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (frames, 64, 64)}
    )
    return header.getvalue() + bytes(100)


def _forged_pickle_bytes() -> bytes:
    """A pickled uint8 array whose data opcode declares 10^11 bytes (BINBYTES8) in a tiny file."""
    import struct

    raw = pickle.dumps(np.zeros((3, 4, 4), np.uint8), protocol=4)
    start = raw.rfind(b"C\x30")  # SHORT_BINBYTES of the 48 data bytes
    return raw[:start] + b"\x8e" + struct.pack("<Q", 10**11) + raw[start + 2 :]


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("kind", ["npy", "npz", "npz-deflated"])
def test_a_forged_npy_header_is_refused_before_allocating(tmp_path, kind, mmap):
    """Issue 17, item 18: a tiny .npy (or .npz member) whose header declares 10^11 frames is
    one DataError naming the file and the declared shape, instead of numpy's MemoryError
    ("Unable to allocate 373. TiB") from the catch-all."""
    import zipfile

    if kind == "npy":
        path = tmp_path / "forged.npy"
        path.write_bytes(_forged_npy_bytes())
    else:
        path = tmp_path / "forged.npz"
        method = zipfile.ZIP_DEFLATED if kind == "npz-deflated" else zipfile.ZIP_STORED
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            archive.writestr("arr_0.npy", _forged_npy_bytes())
    with pytest.raises(DataError) as caught:
        load_sequence_file(path, mmap=mmap)
    member = ": member arr_0.npy" if kind != "npy" else ""
    assert str(caught.value).startswith(
        f"{path}{member}: the .npy header declares shape (100000000000, 64, 64) of uint8 "
        "(409600000000000 bytes), but only 100 bytes of data follow it"
    )


def test_an_npz_member_declaring_more_than_its_compressed_bytes_can_hold(tmp_path):
    """Issue 17, item 18: a zip entry whose declared size its stored bytes cannot give is
    refused before numpy allocates it (the .npy header inside is consistent with that size)."""
    import zipfile

    path = tmp_path / "big.npz"
    np.savez(path, np.zeros((4, 8, 8), np.uint8))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("arr_0.npy")
    # the central directory's uncompressed size (offset 24 of its record) claims 4 GB
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (2**32 - 2).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"big\.npz: member arr_0\.npy declares 4294967294 bytes"):
        load_sequence_file(path)
    assert info.compress_type == zipfile.ZIP_STORED


def test_a_pickle_declaring_more_bytes_than_it_holds_is_refused(tmp_path):
    """Issue 17, item 18: a pickle whose BINBYTES8 declares 10^11 bytes is a DataError naming
    the file, through both readers of pickles, instead of a bare MemoryError."""
    from gaitgen.runtime.data.frame_file import load_pickle_located

    path = tmp_path / "forged.pkl"
    path.write_bytes(_forged_pickle_bytes())
    for load in (load_sequence_file, load_pickle_located):
        with pytest.raises(DataError) as caught:
            load(path)
        assert str(caught.value).startswith(f"{path}: not a readable pickle (ValueError: ")
        assert "expected 100000000000 bytes" in str(caught.value)


def test_check_data_names_a_forged_npy_in_one_line(tmp_path):
    """Issue 17, item 18: ``gaitgen check-data`` over a dataset holding a forged .npy reports
    that file among its problems instead of ending in the catch-all's MemoryError."""
    from gaitgen.runtime.data.dummy import write_dummy_dataset
    from typer.testing import CliRunner

    from gaitgen.cli.app import app

    root = tmp_path / "data"
    partition = write_dummy_dataset(
        root, ["001", "002"], types=("nm-01",), views=("000",), frames=(5, 5), train_ids=["001"]
    )
    folder = root / "001" / "nm-01" / "000"
    for old in folder.iterdir():
        old.unlink()
    (folder / "000.npy").write_bytes(_forged_npy_bytes())
    result = CliRunner().invoke(app, ["check-data", str(root), "--partition", str(partition)])
    assert result.exit_code == 1
    assert "MemoryError" not in result.output
    assert "001/nm-01/000/000.npy: the .npy header declares shape (100000000000, 64, 64)" in (
        result.output
    )
