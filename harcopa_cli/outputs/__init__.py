"""The run folder ``harcopa eval`` and ``harcopa run report --output-dir`` write: results.json,
samples.jsonl, report.md, report.html, plots and the service logs of the run.

``folder.write_run_folder`` is the entry point; the other modules each write one part.
"""
