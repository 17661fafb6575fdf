"""The pipeline's job queue (issue 20): stages as database rows, run by workers (``worker.py``)."""
