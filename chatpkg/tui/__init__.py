"""The Textual front end: chat, diff, tests, files and turns side by side."""
