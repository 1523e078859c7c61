"""The static HTML strategy report, built from the serving database after every publish."""

from orchestration.report.build import build_report

__all__ = ["build_report"]
