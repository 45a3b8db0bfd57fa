"""Each company's own chart of accounts: read from its accounting program's export, validated under the PUC,
kept per company; the accounts a purchase line may take; the company's map from a generic sub-account to one
of its auxiliaries; the code a journal line is exported with."""
