"""Essential Contacts: who Google writes to about the project's security incidents, billing,
suspensions, outages and legal matters. Without them Google writes to the project's owners,
often nobody who reads the mail; with them, to a team inbox per category."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.compliance import EssentialContactSettings, contact_key

REQUIRED_APIS = ("essentialcontacts.googleapis.com",)


@dataclass(frozen=True)
class EssentialContactsArgs:
    project: str
    contacts: Sequence[EssentialContactSettings]
    """Each address once, with its categories (validated in stackconfig/compliance.py)."""


class EssentialContacts(pulumi.ComponentResource):
    """One `essentialcontacts.Contact` per address, on the project."""

    contacts: dict[str, gcp.essentialcontacts.Contact]

    def __init__(self, name: str, args: EssentialContactsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:compliance:EssentialContacts", name, None, opts)
        child = child_options(self, opts)
        keys = [contact_key(contact.email) for contact in args.contacts]
        if len(set(keys)) != len(keys):
            raise ValueError("two contacts share an address (compliance.contacts)")
        self.contacts = {
            contact.email: gcp.essentialcontacts.Contact(
                f"{name}-contact-{key}",
                parent=f"projects/{args.project}",
                email=contact.email,
                language_tag=contact.language,
                notification_category_subscriptions=list(contact.categories),
                opts=child,
            )
            for key, contact in zip(keys, args.contacts, strict=True)
        }
        self.register_outputs({"contacts": sorted(self.contacts)})
