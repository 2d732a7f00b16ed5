"""The compliance agent: every reply passes its review before the customer sees it, and every streamed
sentence passes the same check before it is released."""

from agents.compliance.review import releasable, review

__all__ = ["releasable", "review"]
