"""The backend against real files, real flock holders and real runner processes."""
