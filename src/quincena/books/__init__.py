"""Accounting output: the proposed journal entries (causación)."""
