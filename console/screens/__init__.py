"""Screens of the console; each draws frames the app hands it and posts what the operator wants."""
