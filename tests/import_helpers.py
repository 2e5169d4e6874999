from pathlib import Path

import tablib


def load_dataset(path: Path) -> tablib.Dataset:
    fmt = path.suffix.lstrip(".")
    mode = "rb" if fmt == "xlsx" else "r"
    with open(path, mode) as fh:
        return tablib.Dataset().load(fh.read(), format=fmt)


def row_errors(result) -> dict[int, str]:
    """Row number → all messages of that row (validation and exceptions)."""
    errors = {}
    for invalid in result.invalid_rows:
        errors[invalid.number] = " ".join(
            str(m) for messages in invalid.error_dict.values() for m in messages
        )
    for number, row_errs in result.row_errors():
        errors[number] = " ".join(str(e.error) for e in row_errs)
    return errors
