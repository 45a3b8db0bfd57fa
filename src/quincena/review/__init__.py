"""The accountant's loop (issue 12): the review worklist, the accountant's actions (audited, teaching
supplier memory), the CSV round trip and the review pages shown inside Airflow's UI."""
