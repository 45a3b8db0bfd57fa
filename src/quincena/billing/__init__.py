"""Billing clients: the monthly statement per company, from the api_calls ledger."""
