"""The contract package knows no domain: tests check contracts with the built-in ones installed."""

from sggit import domains

domains.install()
