"""Settings, command line and the analysis runner shared by the CLI and the web app."""
