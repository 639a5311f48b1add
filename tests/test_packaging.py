"""What ships: the wheel carries the license its metadata names."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_the_wheel_carries_the_apache_license_its_metadata_names(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    wheel = Path(next(WheelBuilder(str(ROOT)).build(directory=str(tmp_path),
                                                    versions=["standard"])))
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licenses, names
        assert z.read(licenses[0]).decode() == text
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
