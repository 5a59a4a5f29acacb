"""lib.data: the bundled data sets and their prepared slices, as values."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # the repository's data/ folder
