import sys
from pathlib import Path

# --import-mode=importlib puts no test directory on sys.path; the shared pictures need this one.
sys.path.insert(0, str(Path(__file__).parent))
