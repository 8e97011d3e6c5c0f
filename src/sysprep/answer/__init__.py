"""Answer files: the unattend.xml / YAML model, readers, validation, cache and secrets."""
