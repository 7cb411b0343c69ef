"""`sggit doctor` checks of this area: which link types and namespaces the kernel offers."""

from __future__ import annotations

from sggit.kernel.features import doctor_checks

CHECKS = [doctor_checks]
