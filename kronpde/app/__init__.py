"""The application: the command line, studies, pictures and output fields."""
