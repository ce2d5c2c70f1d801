#!/usr/bin/python3
"""Reference files for Diffusion.IO.TorchPickle (tests/Diffusion.Core.Tests/IO/TorchPickleTests.cs).

Writes small files in PyTorch's zip format (torch.save since 1.6: <archive>/data.pkl, <archive>/data/<key>,
<archive>/byteorder, <archive>/version) to tests/reference/pickle/:

  tensors.pt             torch.save of a dict: every storage dtype, a 0-d tensor, an empty tensor, a transposed
                         view, a view with a storage offset, two keys sharing one storage (tied weights) plus a
                         slice of it, and an nn.Parameter
  tensors.json           what tensors.pt holds: per key dtype, shape, stride, storage offset and the values in
                         row-major order (float16/bfloat16/float32 values written as exact decimal doubles)
  module_state_dict.pt   nn.Sequential(Linear(3, 4), BatchNorm1d(4)).state_dict(): an OrderedDict carrying
                         _metadata, as every nn.Module.state_dict() does (values also in tensors.json)
  book_unet_tiny.pth     torch.save(model.state_dict()) of the book's U-Net (markhliu/DGAI utils/unet_util.py,
                         loaded as tools/reference/unet_reference.py loads it) at hidden dims [8, 16, 16], 8x8
  book_unet_tiny_io.pt   a sample, timesteps and that model's output, to check the loaded model runs the same
  checkpoint.pt          {"epoch", "state_dict": the module's state dict, "optimizer": an Adam state, "note": None}
  not_a_state_dict.pt    {"step": 3, "tensors": [a tensor]}: read without error by torch.load, refused by a state-dict reader
  zip64.pt               {"weight": [1, 2, 3, 4]} written by hand with zip64 size fields on every entry
  legacy.pt              the same small dict saved with _use_new_zipfile_serialization=False (pre-1.6 format)
  hostile_*.pt           files a loader must refuse. Their pickles are written byte by byte below and are
                         NEVER unpickled here (nothing in this script calls pickle.load or torch.load on them):
      hostile_os_system.pt        posix.system("echo pwned")
      hostile_builtins_eval.pt    __builtin__.eval("...")   (protocol 2 spells builtins as __builtin__)
      hostile_unknown_global.pt   a state dict whose second value is rebuilt by numpy.core.multiarray._reconstruct
      hostile_truncated.pt        tensors.pt cut in the middle (the zip's central directory is gone)
      hostile_short_storage.pt    a tensor of 10 float32 elements on a storage of 4
      hostile_short_entry.pt      a storage declaring 10 float32 elements whose zip entry holds 16 bytes
      hostile_huge_size.pt        a storage declaring 2**60 elements and a tensor of shape [2**30, 2**30]
      hostile_bad_opcode.pt       a state dict whose pickle uses INST ('i'), which builds objects by name

Usage (Debian's PyTorch 1.13):  /usr/bin/python3 tools/reference/torch_pickle.py
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "pickle")


def write_bytes(data, name):
    path = os.path.join(OUT_DIR, name)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save(obj, name, **kwargs):
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    write_bytes(buffer.getvalue(), name)
    return buffer.getvalue()


def describe(t):
    t = t.detach()
    values = t.reshape(-1).tolist() if t.dtype != torch.bfloat16 else t.float().reshape(-1).tolist()
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "stride": list(t.stride()),
            "storage_offset": t.storage_offset(), "values": values}


# --- pickles written by hand (protocol 2 opcodes), never executed --------------------------------------

def unicode(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def global_(module, name):
    return b"c" + module.encode("ascii") + b"\n" + name.encode("ascii") + b"\n"


def int_(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def tuple_(items):
    return b"(" + b"".join(items) + b"t"


def tensor_v2(key, storage_class, numel, offset, size, stride):
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks)."""
    persistent_id = tuple_([unicode("storage"), global_("torch", storage_class), unicode(key), unicode("cpu"), int_(numel)])
    args = tuple_([persistent_id + b"Q", int_(offset), tuple_([int_(s) for s in size]), tuple_([int_(s) for s in stride]),
                   b"\x89", global_("collections", "OrderedDict") + b")R"])
    return global_("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def state_dict_pickle(items):
    """An OrderedDict of (key, value-bytes), as torch.save writes a state dict."""
    body = b"".join(unicode(k) + v for k, v in items)
    return b"\x80\x02" + global_("collections", "OrderedDict") + b")R(" + body + b"u."


def zip_archive(pickle_bytes, storages, archive="archive"):
    """The layout torch.save writes: stored (uncompressed) entries under one top-level folder."""
    buffer = io.BytesIO()
    records = [("data.pkl", pickle_bytes)] + [("data/" + k, v) for k, v in storages.items()] + [("version", b"3\n"), ("byteorder", b"little")]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in records:
            z.writestr(zipfile.ZipInfo(archive + "/" + name, date_time=(1980, 1, 1, 0, 0, 0)), data)  # reproducible bytes
    return buffer.getvalue()


def zip64_file():
    """A valid state dict whose entries carry zip64 size fields, as torch.save writes them for files over 4 GiB."""
    floats = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    records = [("data.pkl", state_dict_pickle([("weight", tensor_v2("0", "FloatStorage", 4, 0, [4], [1]))])), ("data/0", floats),
               ("version", b"3\n"), ("byteorder", b"little")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in records:
            with z.open(zipfile.ZipInfo("archive/" + name, date_time=(1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
                f.write(data)
    write_bytes(buffer.getvalue(), "zip64.pt")


def hostile_files(tensors_pt):
    floats = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    # posix.system("echo pwned"): GLOBAL, the argument tuple, REDUCE, STOP.
    write_bytes(zip_archive(b"\x80\x02" + global_("posix", "system") + unicode("echo pwned") + b"\x85R.", {}),
                "hostile_os_system.pt")
    write_bytes(zip_archive(b"\x80\x02" + global_("__builtin__", "eval") + unicode("__import__('os').system('echo pwned')") + b"\x85R.", {}),
                "hostile_builtins_eval.pt")
    reconstruct = global_("numpy.core.multiarray", "_reconstruct") + tuple_([global_("numpy", "ndarray"), tuple_([int_(0)]), b"U\x01b"]) + b"R"
    write_bytes(zip_archive(state_dict_pickle([("weight", tensor_v2("0", "FloatStorage", 4, 0, [4], [1])), ("bias", reconstruct)]),
                            {"0": floats}), "hostile_unknown_global.pt")
    write_bytes(tensors_pt[: len(tensors_pt) // 2], "hostile_truncated.pt")
    write_bytes(zip_archive(state_dict_pickle([("weight", tensor_v2("0", "FloatStorage", 4, 0, [10], [1]))]), {"0": floats}),
                "hostile_short_storage.pt")
    write_bytes(zip_archive(state_dict_pickle([("weight", tensor_v2("0", "FloatStorage", 10, 0, [10], [1]))]), {"0": floats}),
                "hostile_short_entry.pt")
    write_bytes(zip_archive(state_dict_pickle([("weight", tensor_v2("0", "FloatStorage", 2**60, 0, [2**30, 2**30], [2**30, 1]))]), {"0": floats}),
                "hostile_huge_size.pt")
    inst = b"(" + unicode("x") + b"iposix\nsystem\n"  # INST: MARK, args, 'i' module\nname\n
    write_bytes(zip_archive(state_dict_pickle([("weight", inst)]), {}), "hostile_bad_opcode.pt")


def book_unet_files(provenance):
    sys.path.insert(0, HERE)
    import unet_reference  # noqa: E402  (the book's model, loaded from the DGAI snapshot with small shims)

    unet_util = unet_reference.install_shims()
    torch.manual_seed(4321)
    dims, image = [8, 16, 16], 8
    model = unet_util.UNet(3, hidden_dims=dims, image_size=image).eval()
    with torch.no_grad():
        # Move every parameter off its initial value (norm gains start at 1, biases at 0), so a key loaded into the
        # wrong place or not at all changes the output.
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
        sample = torch.randn(2, 3, image, image)
        timesteps = torch.tensor([17, 803], dtype=torch.int64)
        output = model(sample, timesteps)["sample"]
    # What the book's notebook does: torch.save(model.state_dict(), 'files/diffusion.pth'). Saved to a path (not a
    # buffer) so the archive's folder is named after the file ("book_unet_tiny.pth"), not "archive".
    path = os.path.join(OUT_DIR, "book_unet_tiny.pth")
    torch.save(model.state_dict(), path + ".tmp")
    os.replace(path + ".tmp", path)
    save({"sample": sample, "timesteps": timesteps, "output": output}, "book_unet_tiny_io.pt")
    return {"hidden_dims": dims, "image_size": image, "seed": 4321,
            "parameter_count": sum(p.numel() for p in model.parameters()),
            "keys": len(model.state_dict()), "book": "markhliu/DGAI@" + unet_reference.git_head(unet_reference.BOOK_GIT) + " utils/unet_util.py"}


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(2024)
    tied = torch.randn(3, 4)
    base = torch.randn(3, 5)
    values = {
        "float32": torch.randn(2, 3),
        "float64": torch.randn(3, dtype=torch.float64),
        "float16": torch.randn(2, 2).half(),
        "bfloat16": torch.randn(5).bfloat16(),
        "int64": torch.tensor([[-(2**40), 7], [0, 2**62]], dtype=torch.int64),
        "int32": torch.tensor([-5, 2**31 - 1], dtype=torch.int32),
        "int16": torch.tensor([-300, 12], dtype=torch.int16),
        "int8": torch.tensor([-128, 127], dtype=torch.int8),
        "uint8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
        "transposed": base.t(),                  # stride (1, 5)
        "offset_view": base[1:, 2:],             # storage offset 7, stride (5, 1)
        "tied_a": tied,
        "tied_b": tied,                          # the same tensor: one storage in the file
        "tied_row": tied[1],                     # a view of that storage at offset 4
        "parameter": torch.nn.Parameter(torch.randn(2)),
    }
    tensors_pt = save(values, "tensors.pt")

    torch.manual_seed(7)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    module.train()
    module(torch.randn(5, 3))  # moves running_mean/var and num_batches_tracked away from their initial values
    state = module.state_dict()
    assert hasattr(state, "_metadata")
    save(state, "module_state_dict.pt")
    state_described = {k: describe(v) for k, v in state.items()}  # now: the optimizer below changes these tensors in place
    save({"weight": torch.arange(4.0)}, "legacy.pt", _use_new_zipfile_serialization=False)

    # A training checkpoint: the state dict under "state_dict", next to an epoch and an Adam state (ints, floats,
    # tuples, lists, None, tensors). And a dict that is no state dict (a list of tensors under a key).
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    module(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    save({"epoch": 3, "state_dict": state, "optimizer": optimizer.state_dict(), "note": None}, "checkpoint.pt")
    save({"step": 3, "tensors": [torch.ones(2)]}, "not_a_state_dict.pt")

    provenance = {"script": "tools/reference/torch_pickle.py", "torch": torch.__version__,
                  "writer": "torch.save (torch/serialization.py, pickle protocol %d)" % torch.serialization.DEFAULT_PROTOCOL}
    book = book_unet_files(provenance)
    hostile_files(tensors_pt)
    zip64_file()

    shared = {"tied_a and tied_b": values["tied_a"].storage().data_ptr() == values["tied_b"].storage().data_ptr(),
              "tied_row in tied_a": values["tied_row"].storage().data_ptr() == values["tied_a"].storage().data_ptr()}
    document = {"provenance": provenance, "shared_storages": shared, "book_unet_tiny": book,
                "tensors.pt": {k: describe(v) for k, v in values.items()},
                "module_state_dict.pt": state_described}
    tmp = os.path.join(OUT_DIR, "tensors.json.tmp")
    with open(tmp, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(OUT_DIR, "tensors.json"))
    for name in sorted(os.listdir(OUT_DIR)):
        print(name, os.path.getsize(os.path.join(OUT_DIR, name)))
    print("book U-Net:", book)


if __name__ == "__main__":
    main()
