"""Lines to PUC accounts: the prompt, the catalog, supplier memory and the classifier."""
