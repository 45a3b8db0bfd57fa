"""quincena: classify DIAN purchase invoices into the PUC every fortnight."""
