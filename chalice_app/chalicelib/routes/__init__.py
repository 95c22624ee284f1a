"""One blueprint per audience; chalice_app/app.py registers them all."""
