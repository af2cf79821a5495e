"""The single-item methods for backends whose real work is `send_batch` (ews, graph).

Each single call is a batch of one, so a meeting created alone or in a batch of 20 takes the same
path (look-up by tag, create or update, per-item result).
"""

from __future__ import annotations

from collections.abc import Sequence

from samtale_automation.domain.messages import Delivery, Job, Mail, Meeting, Person


class BatchBackend:
    """upsert_meeting, cancel_meeting and send_mail as batches of one; subclasses implement send_batch."""

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Send the jobs; one Delivery per job, in order (the subclass's whole work)."""
        raise NotImplementedError(type(self).__name__)

    def upsert_meeting(self, meeting: Meeting, recipients: Sequence[Person]) -> Delivery:
        """Create the meeting with invitations, or bring it up to date (the attendees get the update)."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting)])[0]

    def cancel_meeting(self, meeting: Meeting, recipients: Sequence[Person], reason: str = "") -> Delivery:
        """Cancel the meeting for everybody, or remove just these recipients; an appointment is deleted."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting, cancel=True, reason=reason)])[0]

    def send_mail(self, mail: Mail) -> Delivery:
        """Send an ordinary e-mail from the mailbox (a copy stays in Sent Items)."""
        return self.send_batch([Job(mail.to, mail=mail)])[0]
