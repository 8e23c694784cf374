"""Fixtures for the untrusted-input tests that real PyTorch output can be turned into with the
standard library alone (no torch needed): run from the repository root.

  Tests/Fixtures/torch/zip_deflated_pickle.pth   zip_float32.pth (written by torch.save) re-zipped
                                                 with data.pkl deflated, as some tools re-pack
                                                 checkpoints; tests patch its central directory.
"""
import zipfile

SOURCE = "Tests/Fixtures/torch/zip_float32.pth"
TARGET = "Tests/Fixtures/torch/zip_deflated_pickle.pth"

with zipfile.ZipFile(SOURCE) as src, zipfile.ZipFile(TARGET, "w") as out:
    for info in src.infolist():
        data = src.read(info.filename)
        method = zipfile.ZIP_DEFLATED if info.filename.endswith("data.pkl") else zipfile.ZIP_STORED
        entry = zipfile.ZipInfo(info.filename, date_time=(2026, 12, 1, 0, 0, 0))
        entry.compress_type = method
        out.writestr(entry, data)
print("wrote", TARGET)
