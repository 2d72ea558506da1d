import logging

from celery import shared_task

from audit.chain import chain_verify_recorded
from audit.checkpoints import checkpoint_write
from audit.retention import audit_retention_apply
from audit.sequencer import audit_link_all

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def audit_chain_verify():
    """Re-verify the whole chain; the outcome shows on the system status page and in the worker log."""
    report = chain_verify_recorded()
    if report.ok:
        logger.info("audit chain intact: %s rows", report.rows_checked)
    else:
        logger.error("audit chain broken at sequence %s: %s", report.broken_sequence, report.problem)


@shared_task(ignore_result=True)
def audit_checkpoint_write():
    """Sign the chain's head (AUDIT_CHECKPOINT_MINUTES), so removing the newest rows is detectable."""
    checkpoint = checkpoint_write()
    if checkpoint is not None:
        logger.info("audit checkpoint at sequence %s", checkpoint.sequence)


@shared_task(ignore_result=True)
def retention_apply():
    """Remove audit records past their retention (audit.retention); what went is logged and chained."""
    removed = audit_retention_apply()
    logger.info("retention: removed %s", removed)


@shared_task(ignore_result=True)
def audit_link():
    """A backstop for the sequencer process: link whatever is waiting (the chain lock keeps one at a time)."""
    linked = audit_link_all()
    if linked:
        logger.info("audit rows linked by the beat backstop: %s", linked)
