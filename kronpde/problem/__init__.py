"""One boundary-value problem: its data, its discretisation, the settings, the certificate."""
