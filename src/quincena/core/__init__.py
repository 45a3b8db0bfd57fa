"""What every part shares: settings, the firm's database, quincena periods, NITs, the company registry."""
