"""The billing import: a CSV dropped into the data bucket's `imports/` prefix is loaded into the table.

S3 sends an ObjectCreated event per file; each record is one file, imported by the service and
answered with a report beside it (`imports/<name>.report.csv`). S3 may deliver an event twice: the
import is an upsert (a replay would change nothing), and Powertools' idempotency, keyed on the object's
key and its S3 sequencer, keeps the first run's report instead of overwriting it with "0 changed".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext

from ekc.idempotency import idempotent, register_lambda_context
from ekc.observability import count, logger
from ekc.services import billing_import
from ekc.storage.files import S3Files


@idempotent("record", key_jmespath="[s3.bucket.name, s3.object.key, s3.object.sequencer]")
def import_record(record: dict[str, Any]) -> dict[str, Any]:
    """One S3 record: import the object it names; the counts, or why nothing was done."""
    key = unquote_plus(record["s3"]["object"]["key"])  # S3 events carry keys URL-encoded
    files = S3Files(record["s3"]["bucket"]["name"])  # the template cannot name it (see DATA_BUCKET)
    result = billing_import.import_from_bucket(key, files=files)
    if result is None:
        return {"key": key, "skipped": True}
    counts = {name: getattr(result.counts, name) for name in billing_import.ImportCounts.__slots__}
    outcome = {
        "key": key,
        "kind": str(result.kind) if result.kind else None,
        "refused_file": result.file_error.code if result.file_error else None,
        "report": billing_import.report_key(key),
        "retire_held_back": result.retire_held_back,
        **counts,
    }
    logger.info("import done", extra=outcome)
    for name in ("added", "changed", "retired", "refused"):
        count("ImportRows", "outcome", name, counts[name])
    if result.file_error is not None:
        count("ImportFileRefused", "reason", result.file_error.code)
    return outcome


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 ObjectCreated under `imports/`: import each file named, in the order S3 lists them."""
    register_lambda_context(context)
    return {"files": [import_record(record=record) for record in event.get("Records", [])]}
