"""Ingestion: a delivered file becomes one batch — read, checked row by row, gated, then promoted to `raw`.

    inbox/<source>/FILE ─take─▶ private copy ─read─▶ TEMP text ─row rules─▶ batch + audit.quarantine
        ─gate─▶ raw.<table> + archive/
    refused whole ─▶ rejected/FILE + FILE.reason.txt;  gate fails ─▶ rejected/;  not settled ─▶ waits in the inbox

Where each step lives: `inbox` (which entries wait, the private copy that is read and filed away, where it
goes), `formats` (CSV, XLSX and Parquet into a TEMP table of text), `normalize` and `rules` (typing and the row
rules whose reasons send a row to quarantine), `codes` (the code-list validators), `pseudonym` (the HMAC of ID
numbers), `staging` (checked rows into the batch), `batch` (one file in one transaction: take, check, gate, promote),
`prepared` (the DAG's way: each file prepared apart, then promoted by one writer), `run` (a run's files, the two
sources side by side).
"""

from wfm.ingest.batch import BatchOutcome, ingest_file, new_run_id, open_warehouse
from wfm.ingest.run import ingest_all, new_files

__all__ = [
    "BatchOutcome",
    "ingest_all",
    "ingest_file",
    "new_files",
    "new_run_id",
    "open_warehouse",
]
