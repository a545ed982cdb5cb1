"""Check that a built wheel holds every package under qsp/ and every shipped model file."""

import sys
import zipfile
from pathlib import Path

wheel, src = sys.argv[1], Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
missing = []
for init in sorted((src / "qsp").rglob("__init__.py")):
    rel = init.relative_to(src).as_posix()
    if rel not in names:
        missing.append(rel)
for f in sorted((src / "sbml_models").iterdir()):
    if f.suffix in {".xml", ".json", ".ant"} and f"qsp/sbml_models/{f.name}" not in names:
        missing.append(f"qsp/sbml_models/{f.name}")
if missing:
    sys.exit(f"wheel {Path(wheel).name} lacks: {', '.join(missing)}")
print(f"smoke: wheel holds {len(names)} files, every package and shipped model included")
